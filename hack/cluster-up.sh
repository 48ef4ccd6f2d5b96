#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, then vmctl deployed on it the way a
# cluster runs it: images built from images/*/Dockerfile (hack/cluster-images.sh), imported into
# containerd, and `kubectl apply -k manifests/overlays/local`.
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kubelet + kube-proxy
#   (v1.34.4, hack/kube-binaries.sh --node), containerd + runc + CNI bridge/host-local (Debian),
#   kube-proxy in nftables mode. The node's address is on a port-less bridge (vmctlnode0).
# State: $VMCTL_CLUSTER_STATE (default /var/lib/vmctl-cluster) and /run/vmctl-cluster.
# Running it again is harmless: what runs is kept, images are rebuilt only when their inputs
# change. hack/cluster-down.sh puts the machine back as it was.
# Usage: hack/cluster-up.sh [--no-vmctl]   (--no-vmctl: only the Kubernetes node)
# Prints the kubeconfig path as its last line.
set -euo pipefail
source "$(dirname "$0")/cluster-lib.sh"
cd "$VMCTL_ROOT"
[[ $(id -u) -eq 0 ]] || { echo "hack/cluster-up.sh must run as root" >&2; exit 1; }
DEPLOY_VMCTL=true
[[ "${1:-}" == --no-vmctl ]] && DEPLOY_VMCTL=false
T0=$(date +%s%3N)
elapsed() { echo "$(( ($(date +%s%3N) - T0) / 100 ))" | sed 's/\(.\)$/.\1/'; }

ensure_toolchain
ensure_packages containerd runc containernetworking-plugins buildah nftables iproute2 conntrack \
  openssl btrfs-progs debootstrap util-linux
step "Kubernetes binaries (built once from the Go module proxy, cached in $KUBE_BIN)"
bash hack/kube-binaries.sh --node >/dev/null

mkdir -p "$CLUSTER_STATE"/{pki,etcd,log,cni/net.d,cni/ipam,containerd,kubelet,pod-logs} \
  "$CLUSTER_RUN"/{pids,containerd}
PKI="$CLUSTER_STATE/pki"

# --- what the machine looked like before the first start (cluster-down restores it) ---
if [[ ! -f "$CLUSTER_STATE/host-before/recorded" ]]; then
  mkdir -p "$CLUSTER_STATE/host-before"
  for s in "${CLUSTER_SYSCTLS[@]}"; do
    v=$(sysctl -n "$s" 2>/dev/null) && printf '%s=%s\n' "$s" "$v"
  done >"$CLUSTER_STATE/host-before/sysctl"
  for p in "${CLUSTER_HOST_PATHS[@]}"; do [[ -e "$p" ]] && echo "$p"; done >"$CLUSTER_STATE/host-before/paths" || true
  nft list tables >"$CLUSTER_STATE/host-before/nft-tables" 2>/dev/null || true
  touch "$CLUSTER_STATE/host-before/recorded"
fi

# --- the node's address ---
if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
fi
ip link set "$NODE_BRIDGE" up

# --- Bidirectional mount propagation needs a shared mount; / is private here ---
if ! mountpoint -q "$CLUSTER_STATE"; then
  mount --bind "$CLUSTER_STATE" "$CLUSTER_STATE"
fi
mount --make-rshared "$CLUSTER_STATE"

# --- certificates: one CA; a client certificate per component ---
cert() { # name CN O [SANs]
  local name=$1 cn=$2 o=$3 sans=${4:-}
  [[ -f "$PKI/$name.crt" ]] && return
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "/CN=$cn${o:+/O=$o}" -out "$PKI/$name.csr" 2>/dev/null
  local ext="$PKI/$name.ext"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"; [[ -n "$sans" ]] && echo "subjectAltName=$sans"; } >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}
if [[ ! -f "$PKI/ca.crt" ]]; then
  step "certificates ($PKI)"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=vmctl-cluster-ca" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
cert apiserver kube-apiserver "" "IP:$NODE_IP,IP:10.96.0.1,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin kubernetes-admin system:masters
cert kubelet "system:node:$CLUSTER_NODE" system:nodes "IP:$NODE_IP,DNS:$CLUSTER_NODE"
cert controller-manager system:kube-controller-manager ""
cert scheduler system:kube-scheduler ""
cert kube-proxy system:kube-proxy ""
kubeconfig() { # file cert
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: vmctl
  cluster: {certificate-authority: $PKI/ca.crt, server: "https://$NODE_IP:$API_PORT"}
users:
- name: $2
  user: {client-certificate: $PKI/$2.crt, client-key: $PKI/$2.key}
contexts:
- name: vmctl
  context: {cluster: vmctl, user: $2}
current-context: vmctl
KC
}
kubeconfig "$KUBECONFIG_ADMIN" admin
for c in kubelet controller-manager scheduler kube-proxy; do kubeconfig "$CLUSTER_STATE/$c.kubeconfig" "$c"; done

# start NAME CMD...: runs a component in its own session, once; log in $CLUSTER_STATE/log.
start() {
  local name=$1
  shift
  if cluster_running "$name"; then return; fi
  step "starting $name (log: $CLUSTER_STATE/log/$name.log)"
  setsid nohup "$@" >>"$CLUSTER_STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$CLUSTER_RUN/pids/$name"
}
wait_for() { # what, command...
  local what=$1
  shift
  for _ in $(seq 1 240); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "cluster-up: $what did not come up; see $CLUSTER_STATE/log/" >&2
  exit 1
}

start etcd "$KUBE_BIN/etcd" --data-dir "$CLUSTER_STATE/etcd" --name vmctl \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "vmctl=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))" --quota-backend-bytes 2147483648
start kube-apiserver "$KUBE_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
  --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range 30000-32767 \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" --authorization-mode Node,RBAC --allow-privileged=true \
  --enable-admission-plugins NodeRestriction \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP --cert-dir "$CLUSTER_STATE/pki/apiserver-generated"
wait_for "kube-apiserver" kctl get --raw /readyz
start kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
  --kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials --leader-elect=false --bind-address 127.0.0.1 \
  --secure-port 10257 --cluster-cidr "$POD_CIDR" --service-cluster-ip-range "$SERVICE_CIDR" \
  --cert-dir "$CLUSTER_STATE/pki/controller-manager-generated"
start kube-scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port 10259 \
  --cert-dir "$CLUSTER_STATE/pki/scheduler-generated"

# --- containerd: its own root, state, socket and runc root; CRI with the CNI below ---
cat >"$CLUSTER_STATE/containerd.toml" <<TOML
version = 2
root = "$CLUSTER_STATE/containerd"
state = "$CLUSTER_RUN/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "vmctl.local/pause:1"
  # Root here lacks CAP_SYS_RESOURCE: without this runc fails every sandbox (oom_score_adj).
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
      Root = "$CLUSTER_RUN/runc"
TOML
cat >"$CLUSTER_STATE/cni/net.d/10-vmctl.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "vmctl-cluster",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$CLUSTER_STATE/cni/ipam",
               "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    }
  ]
}
CNI
start containerd containerd --config "$CLUSTER_STATE/containerd.toml"
wait_for containerd ctr -a "$CONTAINERD_SOCK" version

# The sandbox ("pause") image: a static binary that waits for a signal, in a one-layer image.
if ! cctr images ls -q | grep -x "vmctl.local/pause:1" >/dev/null; then
  step "pause image"
  bash hack/cluster-images.sh --pause | tail -1 | xargs -r -I{} ctr -a "$CONTAINERD_SOCK" -n k8s.io images import {} >/dev/null
fi

# --- kubelet (cgroup v1 here: cgroupfs driver, failCgroupV1 false) and kube-proxy (nftables) ---
cat >"$CLUSTER_STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
podLogsDir: $CLUSTER_STATE/pod-logs
# Images are imported, never pulled: do not let image GC drop them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
serializeImagePulls: false
YAML
start kubelet "$KUBE_BIN/kubelet" --config "$CLUSTER_STATE/kubelet.yaml" \
  --kubeconfig "$CLUSTER_STATE/kubelet.kubeconfig" --root-dir "$CLUSTER_STATE/kubelet" \
  --hostname-override "$CLUSTER_NODE" --node-ip "$NODE_IP"
cat >"$CLUSTER_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig}
hostnameOverride: $CLUSTER_NODE
clusterCIDR: $POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy "$KUBE_BIN/kube-proxy" --config "$CLUSTER_STATE/kube-proxy.yaml"
wait_for "node $CLUSTER_NODE Ready" kctl wait --for=condition=Ready "node/$CLUSTER_NODE" --timeout=1s
step "Kubernetes node $CLUSTER_NODE Ready after $(elapsed) s"

if $DEPLOY_VMCTL; then
  bash hack/cluster-vmctl.sh
  step "vmctl Ready on the cluster after $(elapsed) s"
fi
cat >&2 <<MSG

Cluster up: export KUBECONFIG=$KUBECONFIG_ADMIN PATH=$KUBE_BIN:\$PATH
Logs: $CLUSTER_STATE/log/   Stop with: hack/cluster-down.sh (--purge also deletes images and state)
MSG
echo "$KUBECONFIG_ADMIN"
