#!/usr/bin/env bash
# Sets up and runs vmctl locally, on one machine, as root:
#   etcd + kube-apiserver with the CRDs, the cluster operator, and one node daemon (QEMU driver:
#   KVM when VMCTL_KVM=true, software emulation otherwise; btrfs storage on a loop-backed pool;
#   its bridge inside the network namespace vmctl-local, so the machine's own networking is
#   untouched). Registers your SSH key as User "me". Safe to run twice: what runs is kept.
# Stop everything with hack/local-down.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
[[ $(id -u) -eq 0 ]] || { echo "hack/local-up.sh must run as root (network namespace, loop mount, QEMU)" >&2; exit 1; }
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
API_PORT="${VMCTL_API_PORT:-6443}"
NETNS="${VMCTL_LOCAL_NETNS:-vmctl-local}"
POOL="$STATE/pool"
mkdir -p "$STATE/run" "$STATE/log"
# A failure names itself last: CI shows the tail of the output.
trap 'echo "hack/local-up.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR

running() { [[ -f "$STATE/run/$1.pid" ]] && kill -0 "$(cat "$STATE/run/$1.pid")" 2>/dev/null; }

# start_java NAME MODULE MAIN [ARGS...]: runs a module's Java main in the background, once.
start_java() {
  local name=$1 module=$2 main=$3
  shift 3
  if running "$name"; then
    step "$name already running (pid $(cat "$STATE/run/$name.pid"))"
    return
  fi
  step "starting $name (log: $STATE/log/$name.log)"
  setsid nohup java -cp "$(cat "$STATE/run/$module.cp")" "$main" "$@" >>"$STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/run/$name.pid"
}

ensure_toolchain
ensure_packages btrfs-progs nftables iproute2 openssh-client
step "Kubernetes binaries (cached after the first run)"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
KUBECTL="$VMCTL_KUBE_BINARIES/kubectl"

step "building vmctl (mvn install, tests skipped)"
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true
for module in testkit operator node-daemon ssh-gateway https-gateway; do
  (cd "$module" && mvn -B -q -ntp dependency:build-classpath -Dmdep.outputFile="$STATE/run/$module.cp.tmp" >/dev/null)
  printf '%s:%s' "$(cat "$STATE/run/$module.cp.tmp")" "$VMCTL_ROOT/$module/target/classes" >"$STATE/run/$module.cp"
  rm -f "$STATE/run/$module.cp.tmp"
done

step "guest kernel, base image (first run: about a minute), QEMU and vhost-device-vsock"
KERNEL_DIR="$(bash hack/guest-kernel.sh | tail -1)"
IMAGE="$(bash hack/build-image.sh | tail -1)"
VHOST_VSOCK="$(bash hack/guest-tools.sh | tail -1)"

step "storage pool: btrfs on $STATE/pool.img"
# 64G: the journey holds 35Gi at once (root + data volumes are reserved at their virtual size),
# with room for three default VMs of your own; sparse, so only what guests write takes disk.
btrfs_pool "$STATE/pool.img" "$POOL" "${VMCTL_POOL_SIZE:-64G}"
mkdir -p "$POOL/images"
if ! cmp -s "$IMAGE" "$POOL/images/debian-12.raw" 2>/dev/null; then
  cp --sparse=always "$IMAGE" "$POOL/images/debian-12.raw.tmp" && mv "$POOL/images/debian-12.raw.tmp" "$POOL/images/debian-12.raw"
fi
ip netns list | grep -qw "$NETNS" || { ip netns add "$NETNS"; ip -n "$NETNS" link set lo up; }
# The gateways run in the machine's namespace and reach VM addresses through one veth pair into
# $NETNS and one route for the VM subnet; both disappear with the veth in hack/local-down.sh.
VM_SUBNET="${VMCTL_VM_SUBNET:-10.100.0.0/24}"
if ! ip link show vmctl-lh >/dev/null 2>&1; then
  ip link add vmctl-lh type veth peer name vmctl-ln netns "$NETNS"
  ip addr add 10.99.0.1/30 dev vmctl-lh
  ip -n "$NETNS" addr add 10.99.0.2/30 dev vmctl-ln
  ip link set vmctl-lh up
  ip -n "$NETNS" link set vmctl-ln up
fi
ip route replace "$VM_SUBNET" via 10.99.0.2 dev vmctl-lh

start_java kube-apiserver testkit dev.vmctl.testkit.KubeApiServer "$STATE/kube" "$API_PORT"
export KUBECONFIG="$STATE/kube/kubeconfig"
api_ready=false
for _ in $(seq 1 240); do
  [[ -f "$KUBECONFIG" ]] && "$KUBECTL" get --raw /readyz >/dev/null 2>&1 && { api_ready=true; break; }
  running kube-apiserver || { tail -20 "$STATE/log/kube-apiserver.log" >&2; echo "kube-apiserver exited (log above)" >&2; exit 1; }
  sleep 0.5
done
if ! $api_ready; then
  tail -20 "$STATE/log/kube-apiserver.log" >&2
  "$KUBECTL" get --raw '/readyz?verbose' >&2 || true
  echo "kube-apiserver not ready after 120 s (log and readiness checks above)" >&2
  exit 1
fi
step "installing CRDs"
"$KUBECTL" apply --server-side --force-conflicts -k crds/ >/dev/null
"$KUBECTL" wait --for=condition=Established crd --all --timeout=60s >/dev/null
"$KUBECTL" get namespace vmctl-system >/dev/null 2>&1 || "$KUBECTL" create namespace vmctl-system >/dev/null
"$KUBECTL" apply -f manifests/operator/021-clusterrole-vmctl-user.yaml >/dev/null

VMCTL_HTTP_PORT=18080 VMCTL_HTTP_BIND_ADDRESS=127.0.0.1 VMCTL_LEASE_NAMESPACE=vmctl-system POD_NAME=local-operator \
  VMCTL_DOMAIN="${VMCTL_DOMAIN:-vm.localhost:8443}" VMCTL_SSH_GATEWAY="localhost:${VMCTL_SSH_PORT:-2222}" \
  start_java operator operator dev.vmctl.operator.VmctlOperator
VMCTL_NODE_NAME=local VMCTL_STATE_DIR="$POOL" VMCTL_STORAGE_POOL="$POOL" VMCTL_STORAGE_DRIVER=btrfs \
  VMCTL_HYPERVISOR=qemu VMCTL_NETNS="$NETNS" VMCTL_VM_SUBNET="$VM_SUBNET" \
  VMCTL_KERNEL_DIR="$KERNEL_DIR" VMCTL_VHOST_VSOCK="$VHOST_VSOCK" VMCTL_KVM="${VMCTL_KVM:-false}" \
  VMCTL_HTTP_PORT=18081 VMCTL_HTTP_BIND_ADDRESS=127.0.0.1 VMCTL_HEARTBEAT_SECONDS=5 \
  VMCTL_CPU_OVERCOMMIT="${VMCTL_CPU_OVERCOMMIT:-4}" \
  start_java node-daemon node-daemon dev.vmctl.node.NodeDaemon

# Both gateways sign login and session tokens with one key; locally it is a file.
DOMAIN="${VMCTL_DOMAIN:-vm.localhost:8443}"
VMCTL_NAMESPACE=vmctl-system VMCTL_DOMAIN="$DOMAIN" VMCTL_GATEWAY_KEY_FILE="$STATE/gateway.key" \
  VMCTL_SSH_PORT="${VMCTL_SSH_PORT:-2222}" VMCTL_SSH_HOST_KEY_FILE="$STATE/ssh_host_key" \
  VMCTL_SSH_PROXY_KEY_FILE="$STATE/ssh_proxy_key" VMCTL_HTTP_PORT=18082 \
  start_java ssh-gateway ssh-gateway dev.vmctl.ssh.SshGatewayMain
VMCTL_NAMESPACE=vmctl-system VMCTL_DOMAIN="$DOMAIN" VMCTL_GATEWAY_KEY_FILE="$STATE/gateway.key" \
  VMCTL_HTTPS_PORT="${VMCTL_HTTPS_PORT:-8443}" VMCTL_HTTP_PORT=18088 VMCTL_METRICS_PORT=18084 \
  VMCTL_HTTP_BIND_ADDRESS=127.0.0.1 VMCTL_METRICS_BIND_ADDRESS=127.0.0.1 \
  VMCTL_TLS_MODE=local-ca VMCTL_LOCAL_CA_DIR="$STATE/local-ca" \
  VMCTL_SSH_GATEWAY="localhost:${VMCTL_SSH_PORT:-2222}" \
  start_java https-gateway https-gateway dev.vmctl.https.HttpsGatewayMain

step "registering your SSH key as User \"me\""
KEY=""
for k in "$HOME/.ssh/id_ed25519.pub" "$HOME/.ssh/id_ecdsa.pub" "$HOME/.ssh/id_rsa.pub"; do
  [[ -f "$k" ]] && { KEY="$k"; break; }
done
if [[ -z "$KEY" ]]; then
  [[ -f "$STATE/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N "" -C "vmctl-local" -f "$STATE/id_ed25519"
  KEY="$STATE/id_ed25519.pub"
fi
cat <<USER | "$KUBECTL" apply -f - >/dev/null
apiVersion: vmctl.dev/v1alpha1
kind: User
metadata:
  name: me
spec:
  email: me@example.com
  sshKeys:
    - $(cat "$KEY")
USER
for _ in $(seq 1 60); do
  "$KUBECTL" get host local >/dev/null 2>&1 && break
  sleep 0.5
done

IDENTITY="${KEY%.pub}"
echo "$IDENTITY" >"$STATE/identity" # for hack/journey.sh
step "waiting for the gateways (ssh :${VMCTL_SSH_PORT:-2222}, https :${VMCTL_HTTPS_PORT:-8443})"
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/${VMCTL_SSH_PORT:-2222}") 2>/dev/null \
    && (exec 3<>"/dev/tcp/127.0.0.1/${VMCTL_HTTPS_PORT:-8443}") 2>/dev/null && break
  running ssh-gateway || { tail -20 "$STATE/log/ssh-gateway.log" >&2; exit 1; }
  running https-gateway || { tail -20 "$STATE/log/https-gateway.log" >&2; exit 1; }
  sleep 0.5
done
# One ssh_config for the gateway and the VMs behind it, so that the commands printed below work
# exactly as printed (OpenSSH passes neither -i nor -o to a -J jump host; a config reaches both).
# VM host keys are not pinned here: VMs come and go under the same names on a local platform; the
# gateway checks each VM's published key in username routing, and `known-hosts` prints them.
CFG="$STATE/ssh_config"
VM_DOMAIN="${DOMAIN%%:*}"
cat >"$CFG" <<CONFIG
# Written by hack/local-up.sh: ssh -F $CFG …, or put "Include $CFG" in ~/.ssh/config.
Host vmctl
  HostName localhost
  Port ${VMCTL_SSH_PORT:-2222}
  IdentityFile $IDENTITY
  IdentitiesOnly yes
  UserKnownHostsFile $STATE/known_hosts
  StrictHostKeyChecking accept-new
Host *.$VM_DOMAIN
  User vmctl
  ProxyJump vmctl
  IdentityFile $IDENTITY
  IdentitiesOnly yes
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  LogLevel ERROR
CONFIG
SSH="ssh -F $CFG vmctl"
# The gateway learns of User me from its informer, a moment after the API server: wait until it
# knows the key, so that the first printed command works at once. (Probes are not failed logins.)
for _ in $(seq 1 60); do
  $SSH -o BatchMode=yes -o ConnectTimeout=5 whoami 2>/dev/null | grep -qi '^user: *me$' && break
  sleep 0.5
done
cat <<MSG

vmctl is up: API server, operator, node daemon "local" (QEMU $( [[ "${VMCTL_KVM:-false}" == true ]] && echo "with KVM" || echo "software emulation")),
SSH gateway on :${VMCTL_SSH_PORT:-2222}, HTTPS gateway on :${VMCTL_HTTPS_PORT:-8443} for *.$VM_DOMAIN (local CA: $STATE/local-ca/ca.crt).
Your key $KEY is User "me"; $CFG names the gateway "vmctl". Try:
  $SSH new --name web                     # a VM with a real guest; waits until it runs
  ssh -F $CFG web.$VM_DOMAIN hostname     # into the VM, jumping through the gateway
  ssh -F $CFG -t web@vmctl                # a shell in the VM, routed by the gateway
  $SSH ls
  $SSH login                              # one-time URL for https://web.$DOMAIN
  curl --cacert $STATE/local-ca/ca.crt https://web.$DOMAIN/
  $SSH help
With "Include $CFG" in ~/.ssh/config, drop the "-F $CFG".
The Kubernetes way (GitOps): export KUBECONFIG=$KUBECONFIG PATH=$VMCTL_KUBE_BINARIES:\$PATH
  kubectl apply -f examples/ && kubectl get vm -A
Logs: $STATE/log/   Stop with: hack/local-down.sh (--purge also deletes state and the pool)
MSG
