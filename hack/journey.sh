#!/usr/bin/env bash
# The user journey, end to end, the way a person does it (docs/getting-started.md):
#   ssh new -> ProxyJump and username routing into a real guest -> a web server in it ->
#   https://web.<domain> after the login URL -> a share link lets a second client in -> rm, host clean;
#   then the GitOps path: kubectl apply of examples/ gives running VMs and re-applying changes nothing.
# Two targets:
#   hack/journey.sh            the loose-process platform of hack/local-up.sh (started when not
#                              running, and stopped again afterwards)
#   hack/journey.sh --cluster  vmctl deployed on the single-node cluster of hack/cluster-up.sh
#                              (also: VMCTL_JOURNEY_TARGET=cluster), reaching the gateways through
#                              their Services; started when not running, stopped afterwards. Adds
#                              what only a cluster does: ownerReference garbage collection (a
#                              Share's token Secret) and deleting a User deletes its namespace,
#                              VMs included, leaving the host clean.
# Prints the time from `new` to SSH-ready. Exit status 0 only when every step held.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
TARGET="${VMCTL_JOURNEY_TARGET:-local}"
[[ "${1:-}" == --cluster ]] && TARGET=cluster
WORK="$(mktemp -d /tmp/vmctl-journey-XXXXXX)"
started_here=false
J0=$(date +%s%3N)

# The reason is printed where it happens and again last, after the platform's logs: CI shows
# only the tail of the output.
FAILURE=""
fail() { FAILURE="$*"; printf '\033[31mJOURNEY FAILED: %s\033[0m\n' "$*" >&2; exit 1; }
set -E
trap '[[ -n $FAILURE ]] || FAILURE="line $LINENO: $BASH_COMMAND"' ERR
if [[ $TARGET == cluster ]]; then
  source hack/cluster-lib.sh
  SSH_HOST=10.96.0.22 # the SSH gateway's Service (manifests/overlays/local)
  SSH_PORT=22
  JUMP_HOST=$SSH_HOST
  HTTPS_ADDRESS=10.96.0.43:443 # the HTTPS gateway's Service
  DOMAIN=vm.vmctl.test
  CA="$CLUSTER_STATE/pki/ca.crt"
  VM_DIRS="$NODE_STATE/vms"
  VM_PROCESS_PATTERN=/var/lib/vmctl/vms/ # as the hypervisors' command lines say (pod paths)
  taps() { ip -o link show master "$VM_BRIDGE" 2>/dev/null | grep -c ' vt' || true; }
  platform_up() { kctl -n vmctl-system get deploy vmctl-ssh-gateway >/dev/null 2>&1 && (exec 3<>"/dev/tcp/$SSH_HOST/$SSH_PORT") 2>/dev/null; }
  platform_start() { bash hack/cluster-up.sh >/dev/null; }
  platform_stop() { bash hack/cluster-down.sh >&2 || true; }
  platform_logs() {
    kctl -n vmctl-system get pods -o wide >&2 || true
    for p in $(kctl -n vmctl-system get pods -o name 2>/dev/null); do
      printf '\n--- last lines of %s\n' "$p" >&2; kctl -n vmctl-system logs --tail=25 "$p" >&2 || true
    done
  }
  export KUBECONFIG="$KUBECONFIG_ADMIN"
  IDENTITY_FILE="$CLUSTER_STATE/id_ed25519"
else
  STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
  SSH_HOST=localhost
  SSH_PORT="${VMCTL_SSH_PORT:-2222}"
  JUMP_HOST="localhost:$SSH_PORT"
  HTTPS_ADDRESS=""
  DOMAIN="${VMCTL_DOMAIN:-vm.localhost:8443}"
  NETNS="${VMCTL_LOCAL_NETNS:-vmctl-local}"
  CA="$STATE/local-ca/ca.crt"
  VM_DIRS="$STATE/pool/vms"
  VM_PROCESS_PATTERN="$STATE/pool/vms/"
  taps() { ip -n "$NETNS" -o link show | grep -c ' vt' || true; }
  platform_up() { (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; }
  platform_start() { bash hack/local-up.sh; }
  platform_stop() { bash hack/local-down.sh >&2 || true; }
  platform_logs() { for log in "$STATE"/log/*.log; do printf '\n--- last lines of %s\n' "$log" >&2; tail -25 "$log" >&2; done; }
fi
finish() {
  local rc=$?
  [[ $rc -ne 0 ]] && platform_logs
  if $started_here; then platform_stop; fi
  rm -rf "$WORK"
  [[ $rc -ne 0 ]] && printf '\033[31mJOURNEY FAILED (%s, step "%s"): %s\033[0m\n' "$TARGET" "$CURRENT_STEP" "${FAILURE:-exit $rc}" >&2
  exit $rc
}
trap finish EXIT

if ! platform_up; then
  step "starting the platform ($TARGET)"
  started_here=true
  platform_start
fi
if [[ $TARGET == cluster ]]; then
  export PATH="$KUBE_BIN:$PATH"
  IDENTITY="$IDENTITY_FILE"
else
  export KUBECONFIG="$STATE/kube/kubeconfig" PATH="$(bash hack/kube-binaries.sh 2>/dev/null | tail -1):$PATH"
  IDENTITY="$(cat "$STATE/identity")"
fi
J1=$(date +%s%3N)
# One ssh_config for every connection, jump hosts included (-o options do not reach -J hops).
cat >"$WORK/ssh_config" <<CFG
Host *
  IdentityFile $IDENTITY
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile $WORK/known_hosts
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 20
CFG
if [[ $TARGET == cluster ]]; then
  gw() { ssh -F "$WORK/ssh_config" -p "$SSH_PORT" "$SSH_HOST" "$@"; }
  jump() { ssh -F "$WORK/ssh_config" -J "$JUMP_HOST" "vmctl@$1" "${@:2}"; }
  routed() { ssh -F "$WORK/ssh_config" -p "$SSH_PORT" "$1@$SSH_HOST" "${@:2}"; }
else
  # Exactly the commands hack/local-up.sh prints, with the ssh_config it writes (issue 19).
  CFG="$STATE/ssh_config"
  [[ -f "$CFG" ]] || fail "no $CFG: restart the platform (hack/local-down.sh; hack/local-up.sh)"
  gw() { ssh -F "$CFG" -o BatchMode=yes vmctl "$@"; }
  jump() { ssh -F "$CFG" -o BatchMode=yes "$1.${DOMAIN%%:*}" "${@:2}"; }
  routed() { ssh -F "$CFG" -o BatchMode=yes -o LogLevel=ERROR "$1@vmctl" "${@:2}"; }
fi
# On the cluster, every name under the domain goes to the HTTPS gateway's Service (no DNS here).
https_code() { curl -s -o "$WORK/body" -w '%{http_code}' --cacert "$CA" ${HTTPS_ADDRESS:+--connect-to "::$HTTPS_ADDRESS"} "$@"; }
now_ms() { date +%s%3N; }

# What an earlier, interrupted journey left (its GitOps VMs hold the name web) goes first.
if kubectl get namespace user-ada >/dev/null 2>&1; then
  kubectl delete -n user-ada vm,share --all --wait=true >/dev/null
fi
kubectl delete -n user-me vm web --ignore-not-found --wait=true >/dev/null

step "ssh gateway: whoami"
gw whoami >"$WORK/whoami.out"
grep -qi "^user: *me$" "$WORK/whoami.out" || fail "whoami does not say User me"

step "ssh gateway: new --name web (a real guest boots)"
t0=$(now_ms)
gw new --name web | tee "$WORK/new.out"
grep -q "ssh -J $JUMP_HOST vmctl@web" "$WORK/new.out" || fail "new did not say how to reach web"
t_new=$(now_ms)
until jump web true 2>/dev/null; do
  (( $(now_ms) - t0 < 600000 )) || fail "no SSH into web through the gateway within 10 minutes"
  sleep 1
done
t_ssh=$(now_ms)
printf 'journey: new -> Running %d ms, new -> SSH-ready %d ms\n' $((t_new - t0)) $((t_ssh - t0))

step "ProxyJump and username routing"
[[ "$(jump web hostname)" == web ]] || fail "ssh -J web hostname"
[[ "$(routed web 'id -un')" == vmctl ]] || fail "ssh web@gateway"

step "a web server in the VM"
jump web 'mkdir -p www && echo "hello from web" > www/index.html && (setsid busybox httpd -p 8080 -h www </dev/null >/dev/null 2>&1 &)'
# The gateway learns the port from the guest agent's report (spec.http.port is not set).
for _ in $(seq 1 60); do
  [[ "$(kubectl get vm web -n user-me -o jsonpath='{.status.guest.listeningPorts}')" == *8080* ]] && break
  sleep 1
done

step "https://web.$DOMAIN: private until the login URL is used"
code=$(https_code "https://web.$DOMAIN/")
[[ $code == 403 ]] || fail "anonymous visitor got $code, expected 403"
url=$(gw login | grep -o 'https://[^ ]*/__vmctl/login/[^ ]*') || fail "login printed no URL"
code=$(https_code -c "$WORK/jar" -b "$WORK/jar" -L "$url?next=https://web.$DOMAIN/")
[[ $code == 200 ]] && grep -q "hello from web" "$WORK/body" || fail "after login: $code $(head -c 300 "$WORK/body")"
https_code -L "$url?next=https://web.$DOMAIN/" >/dev/null
grep -q "hello from web" "$WORK/body" && fail "the login URL worked a second time"

step "a share link lets a second client in"
link=$(gw share web link | grep -o 'https://[^ ]*/__vmctl/share/[^ ]*') || fail "share link printed no link"
code=$(https_code -c "$WORK/jar2" -b "$WORK/jar2" -L "$link")
[[ $code == 200 ]] && grep -q "hello from web" "$WORK/body" || fail "share link: $code"

step "rm web: the VM goes and the host is clean"
gw rm web
for _ in $(seq 1 120); do kubectl get vm web -n user-me >/dev/null 2>&1 || break; sleep 1; done
kubectl get vm web -n user-me >/dev/null 2>&1 && fail "web still exists 2 minutes after rm"
host_clean() { # what
  [[ $(taps) == 0 ]] || fail "a TAP device is left $1"
  pgrep -f "$VM_PROCESS_PATTERN" >/dev/null && fail "a hypervisor or vsock process is left $1"
  [[ -z "$(ls -A "$VM_DIRS" 2>/dev/null)" ]] || fail "a VM directory is left in the pool $1"
}
host_clean "after rm"
gw rm web 2>"$WORK/rm.err" && fail "rm of a missing VM succeeded"
grep -q "no VM named web" "$WORK/rm.err" || fail "rm of a missing VM: $(cat "$WORK/rm.err")"
gw share web rm web-link >/dev/null 2>&1 || kubectl delete share web-link -n user-me --ignore-not-found >/dev/null

step "GitOps: kubectl apply of examples/"
kubectl apply -f examples/user.yaml
kubectl wait --for=condition=Ready user/ada --timeout=120s
kubectl apply -n user-ada -f examples/
kubectl wait -n user-ada --for=condition=Ready vm/hello vm/web --timeout=900s
[[ $(kubectl get vm -n user-ada -o jsonpath='{.items[*].status.phase}') == "Running Running" ]] || fail "examples are not Running"
before=$(kubectl get -n user-ada vm,share,quota -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.generation}/{.spec}{"\n"}{end}')
kubectl apply -n user-ada -f examples/ | tee "$WORK/reapply.out"
grep -v unchanged "$WORK/reapply.out" && fail "re-applying examples/ changed something"
after=$(kubectl get -n user-ada vm,share,quota -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.generation}/{.spec}{"\n"}{end}')
[[ "$before" == "$after" ]] || fail "re-applying changed a spec or generation"
# web is public (spec.http.public): no login needed; nothing listens on 8080 in it, and the page says so.
code=$(https_code "https://web.$DOMAIN/")
[[ $code == 502 || $code == 503 ]] || fail "public web without a server: got $code"
if [[ $TARGET != cluster ]]; then
  kubectl delete -n user-ada vm,share --all --wait=true >/dev/null
  for _ in $(seq 1 120); do [[ -z "$(kubectl get vm -n user-ada -o name)" ]] && break; sleep 1; done
  [[ -z "$(kubectl get vm -n user-ada -o name)" ]] || fail "example VMs were not deleted"
  host_clean "after the GitOps VMs"
else
  step "cluster: ownerReference garbage collection (the Share web-link's token Secret)"
  secret=$(kubectl get secret -n user-ada -l vmctl.dev/share=web-link -o name)
  [[ -n "$secret" ]] || fail "Share web-link has no token Secret"
  [[ $(kubectl get -n user-ada "$secret" -o jsonpath='{.metadata.ownerReferences[0].kind}') == Share ]] \
    || fail "the token Secret is not owned by its Share"
  # No finalizer or operator code deletes it: only the garbage collector does.
  kubectl delete share -n user-ada web-link --wait=true >/dev/null
  for _ in $(seq 1 60); do kubectl get -n user-ada "$secret" >/dev/null 2>&1 || break; sleep 1; done
  kubectl get -n user-ada "$secret" >/dev/null 2>&1 && fail "the garbage collector left $secret"

  step "cluster: deleting User ada deletes namespace user-ada with its VMs; the host is clean"
  [[ $(kubectl get namespace user-ada -o jsonpath='{.metadata.ownerReferences[0].name}') == ada ]] \
    || fail "namespace user-ada is not owned by User ada"
  kubectl delete user ada --wait=true >/dev/null
  for _ in $(seq 1 300); do kubectl get namespace user-ada >/dev/null 2>&1 || break; sleep 1; done
  kubectl get namespace user-ada >/dev/null 2>&1 && fail "namespace user-ada still exists 5 minutes after its User went"
  host_clean "after User ada was deleted"
fi
J2=$(date +%s%3N)
printf '\033[32mjourney passed\033[0m (%s; new -> SSH-ready %d ms; journey %d ms, platform start %d ms)\n' \
  "$TARGET" $((t_ssh - t0)) $((J2 - J1)) $((J1 - J0))
