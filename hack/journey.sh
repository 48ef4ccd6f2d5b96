#!/usr/bin/env bash
# The user journey, end to end on the local platform, the way a person does it (docs/getting-started.md):
#   ssh new -> ProxyJump and username routing into a real guest -> a web server in it ->
#   https://web.<domain> after the login URL -> a share link lets a second client in -> rm, host clean;
#   then the GitOps path: kubectl apply of examples/ gives running VMs and re-applying changes nothing.
# Starts the platform with hack/local-up.sh when it is not running (and stops it again afterwards).
# Prints the time from `new` to SSH-ready. Exit status 0 only when every step held.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
SSH_PORT="${VMCTL_SSH_PORT:-2222}"
DOMAIN="${VMCTL_DOMAIN:-vm.localhost:8443}"
NETNS="${VMCTL_LOCAL_NETNS:-vmctl-local}"
WORK="$(mktemp -d /tmp/vmctl-journey-XXXXXX)"
started_here=false

fail() { printf '\033[31mJOURNEY FAILED: %s\033[0m\n' "$*" >&2; exit 1; }
finish() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    for log in "$STATE"/log/*.log; do printf '\n--- last lines of %s\n' "$log" >&2; tail -25 "$log" >&2; done
  fi
  if $started_here; then bash hack/local-down.sh >&2 || true; fi
  rm -rf "$WORK"
  exit $rc
}
trap finish EXIT

if ! (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; then
  step "starting the local platform (hack/local-up.sh)"
  started_here=true
  bash hack/local-up.sh
fi
export KUBECONFIG="$STATE/kube/kubeconfig" PATH="$(bash hack/kube-binaries.sh 2>/dev/null | tail -1):$PATH"
IDENTITY="$(cat "$STATE/identity")"
CA="$STATE/local-ca/ca.crt"
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
gw() { ssh -F "$WORK/ssh_config" -p "$SSH_PORT" localhost "$@"; }
jump() { ssh -F "$WORK/ssh_config" -J "localhost:$SSH_PORT" "vmctl@$1" "${@:2}"; }
https_code() { curl -s -o "$WORK/body" -w '%{http_code}' --cacert "$CA" "$@"; }
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
grep -q "ssh -J localhost:$SSH_PORT vmctl@web" "$WORK/new.out" || fail "new did not say how to reach web"
t_new=$(now_ms)
until jump web true 2>/dev/null; do
  (( $(now_ms) - t0 < 600000 )) || fail "no SSH into web through the gateway within 10 minutes"
  sleep 1
done
t_ssh=$(now_ms)
printf 'journey: new -> Running %d ms, new -> SSH-ready %d ms\n' $((t_new - t0)) $((t_ssh - t0))

step "ProxyJump and username routing"
[[ "$(jump web hostname)" == web ]] || fail "ssh -J web hostname"
[[ "$(ssh -F "$WORK/ssh_config" -p "$SSH_PORT" web@localhost 'id -un')" == vmctl ]] || fail "ssh web@gateway"

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
[[ $(ip -n "$NETNS" -o link show | grep -c ' vt') == 0 ]] || fail "a TAP device is left in $NETNS"
pgrep -f "$STATE/pool/vms/" >/dev/null && fail "a hypervisor or vsock process is left"
[[ -z "$(ls -A "$STATE/pool/vms" 2>/dev/null)" ]] || fail "a VM directory is left in the pool"
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
kubectl delete -n user-ada vm,share --all --wait=true >/dev/null
for _ in $(seq 1 120); do [[ -z "$(kubectl get vm -n user-ada -o name)" ]] && break; sleep 1; done
[[ -z "$(kubectl get vm -n user-ada -o name)" ]] || fail "example VMs were not deleted"
[[ $(ip -n "$NETNS" -o link show | grep -c ' vt') == 0 ]] || fail "a TAP device is left after the GitOps VMs"

printf '\033[32mjourney passed\033[0m (new -> SSH-ready %d ms)\n' $((t_ssh - t0))
