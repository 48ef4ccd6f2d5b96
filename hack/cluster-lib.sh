# Shared settings of hack/cluster-up.sh, hack/cluster-down.sh and the cluster tests. Source it.
# Everything the cluster writes lives under $CLUSTER_STATE (disk) and $CLUSTER_RUN (tmpfs);
# the names below (bridges, subnets, ports) are chosen not to meet the loose-process platform
# of hack/local-up.sh, so both can run on one machine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
K8S_VERSION="${K8S_VERSION:-1.34.4}"
CLUSTER_STATE="${VMCTL_CLUSTER_STATE:-/var/lib/vmctl-cluster}"
CLUSTER_RUN="${VMCTL_CLUSTER_RUN:-/run/vmctl-cluster}"
CLUSTER_NODE="${VMCTL_CLUSTER_NODE:-vmctl-node}"
# The node's address sits on a bridge without ports (these machines have no dummy module).
NODE_BRIDGE=vmctlnode0
NODE_IP=10.98.0.1
API_PORT="${VMCTL_CLUSTER_API_PORT:-6444}"
ETCD_PORT=12379
POD_CIDR=10.244.0.0/24
CNI_BRIDGE=vmctlcni0
SERVICE_CIDR=10.96.0.0/24
# The node daemon's VM bridge and subnet (the overlay's VMCTL_BRIDGE / VMCTL_VM_SUBNET).
VM_BRIDGE=vmctlvm0
VM_SUBNET=10.101.0.0/24
# The hostPath the node daemon's DaemonSet mounts as its state dir (btrfs pool, kernel, VMs).
NODE_STATE="$CLUSTER_STATE/node"
CONTAINERD_SOCK="$CLUSTER_RUN/containerd/containerd.sock"
KUBECONFIG_ADMIN="$CLUSTER_STATE/admin.kubeconfig"
KUBE_BIN="$VMCTL_CACHE/kube/v$K8S_VERSION"
# Sysctls kubelet, the CNI bridge plugin, kube-proxy and the node daemon change on the host;
# recorded before the first start and restored by cluster-down.
CLUSTER_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.ipv4.conf.all.forwarding net.ipv6.conf.all.forwarding net.ipv4.conf.all.route_localnet
  net.netfilter.nf_conntrack_max)
# Host paths the components create outside their configured directories; removed by
# cluster-down when they did not exist before the first start.
CLUSTER_HOST_PATHS=(/run/containerd /var/lib/cni /opt/containerd /var/log/pods
  /var/log/containers /etc/cni /var/lib/kubelet /run/vmctl /var/run/kubernetes)
# nftables tables the cluster may create (iptables-nft tables come from kubelet's canaries).
CLUSTER_NFT_TABLES=("ip kube-proxy" "ip6 kube-proxy" "inet vmctl" "ip filter" "ip nat"
  "ip mangle" "ip6 filter" "ip6 nat" "ip6 mangle")

# cgroups the cluster makes in every hierarchy: kubelet's pods, and the parent of the node
# daemon's per-VM cgroups (VMCTL_CGROUP_PARENT in the overlay; not "vmctl", which tests on this
# machine may use).
CLUSTER_CGROUPS=(kubepods vmctl-cluster)

kctl() { "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
cctr() { ctr -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }
cluster_running() { [[ -f "$CLUSTER_RUN/pids/$1" ]] && kill -0 "$(cat "$CLUSTER_RUN/pids/$1")" 2>/dev/null; }
# Every mounted cgroup hierarchy (v1 controllers and the v2 unified one).
cgroup_roots() {
  awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break }}' /proc/self/mountinfo
}
