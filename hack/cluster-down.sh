#!/usr/bin/env bash
# Stops the cluster of hack/cluster-up.sh and puts the machine back as it found it: VMs,
# containers and every cluster process stopped, mounts under the cluster's directories
# unmounted, its bridges, veths and TAPs deleted, its nftables tables removed, the sysctls it
# changed restored, its cgroups (kubepods, vmctl) removed, host paths it created deleted.
# Keeps the image store and certificates for a fast next start (etcd data is dropped: the next
# start is a fresh cluster); --purge deletes $VMCTL_CLUSTER_STATE entirely.
# Safe to run when nothing runs. Exit status 1 when something could not be put back.
set -uo pipefail
source "$(dirname "$0")/cluster-lib.sh"
PURGE=false
[[ "${1:-}" == --purge ]] && PURGE=true
problems=0
warn() { echo "cluster-down: $*" >&2; problems=$((problems + 1)); }

stop_pid() { # name: TERM, then KILL after 10 s
  local f="$CLUSTER_RUN/pids/$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
# Processes in a cgroup subtree (v1 or v2), found by what the hierarchy says, not by name.
cgroup_pids() { # relative path
  local r
  for r in $(cgroup_roots); do
    [[ -d "$r/$1" ]] && find "$r/$1" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

if [[ -d "$CLUSTER_RUN/pids" ]]; then
  step "stopping the cluster"
  # The kubelet goes first, so that nothing restarts the containers stopped below.
  stop_pid kubelet
  if cluster_running containerd; then
    for id in $(cctr tasks ls -q 2>/dev/null); do cctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
    sleep 1
    for id in $(cctr tasks ls -q 2>/dev/null); do cctr tasks delete -f "$id" >/dev/null 2>&1; done
    for id in $(cctr containers ls -q 2>/dev/null); do cctr containers delete "$id" >/dev/null 2>&1; done
  fi
  for c in kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do stop_pid "$c"; done
fi
# Whatever still runs in the pods' cgroups or in the VMs' cgroups (hypervisors and
# vhost-device-vsock moved out of the node daemon's pod) is stopped; so is any process whose
# root is a container's root filesystem (a hypervisor that left both); shims die with them.
for cg in "${CLUSTER_CGROUPS[@]}"; do
  pids=$(cgroup_pids "$cg")
  [[ -n "$pids" ]] && kill -9 $pids 2>/dev/null
done
for p in /proc/[0-9]*; do
  [[ "$(readlink "$p/root" 2>/dev/null)" == "$CLUSTER_RUN/"* ]] && kill -9 "${p#/proc/}" 2>/dev/null
done
shims=$(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -address $CONTAINERD_SOCK" || true)
[[ -n "$shims" ]] && kill -9 $shims 2>/dev/null
sleep 0.5

# Mounts: everything under the cluster's directories, deepest first (overlay rootfs, shm,
# network namespaces, secret/configmap tmpfs, the btrfs pool), then the shared bind mount.
umount_under() {
  local prefix=$1 m
  for _ in 1 2 3; do
    local left=0
    while read -r m; do
      [[ -n "$m" ]] || continue
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
      left=1
    done < <(awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | grep -vx "$CLUSTER_STATE")
    ((left)) || break
  done
}
umount_under "$CLUSTER_RUN"
umount_under "$CLUSTER_STATE"
for m in /run/containerd /var/lib/kubelet; do umount_under "$m"; done
while mountpoint -q "$CLUSTER_STATE" 2>/dev/null; do umount "$CLUSTER_STATE" || { warn "cannot unmount $CLUSTER_STATE"; break; }; done
if awk -v p="$CLUSTER_STATE" 'index($5, p) == 1' /proc/self/mountinfo | grep . >/dev/null; then
  warn "mounts left under $CLUSTER_STATE: $(awk -v p="$CLUSTER_STATE" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | tr '\n' ' ')"
fi
# Loop devices of the node daemon's pool image (mount -o loop detaches on unmount; this catches the rest).
for l in $(losetup -j "$CLUSTER_STATE/pool.img" -O NAME -n 2>/dev/null); do losetup -d "$l"; done

# Interfaces: the VM bridge and its TAPs (node daemon), the pod bridge and its veths (CNI),
# the node's address bridge.
for dev in $(ip -o link show master "$VM_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link del "$dev" 2>/dev/null
done
for dev in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link del "$dev" 2>/dev/null
done
for br in "$VM_BRIDGE" "$CNI_BRIDGE" "$NODE_BRIDGE"; do
  ip link show "$br" >/dev/null 2>&1 && { ip link del "$br" || warn "cannot delete $br"; }
done

# nftables: the tables the cluster created (kube-proxy's, the node daemon's inet vmctl,
# iptables-nft's from kubelet's canary chains); tables that existed before stay.
before="$CLUSTER_STATE/host-before"
for t in "${CLUSTER_NFT_TABLES[@]}"; do
  grep -qx "table $t" "$before/nft-tables" 2>/dev/null && continue
  nft list table $t >/dev/null 2>&1 && { nft delete table $t || warn "cannot delete nft table $t"; }
done

# Sysctls, as recorded before the first start.
if [[ -f "$before/sysctl" ]]; then
  while IFS='=' read -r key value; do
    [[ "$(sysctl -n "$key" 2>/dev/null)" == "$value" ]] || sysctl -qw "$key=$value" || warn "cannot restore $key"
  done <"$before/sysctl"
fi

# cgroups: kubelet's kubepods tree and the VMs' vmctl tree, in every hierarchy, leaves first.
for r in $(cgroup_roots); do
  for cg in "${CLUSTER_CGROUPS[@]}"; do
    [[ -d "$r/$cg" ]] || continue
    find "$r/$cg" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ -d "$r/$cg" ]] && warn "cgroup $r/$cg is left (processes in it?)"
  done
done

# Host paths the components created outside their own directories.
for p in "${CLUSTER_HOST_PATHS[@]}"; do
  [[ -e "$p" ]] || continue
  grep -qx "$p" "$before/paths" 2>/dev/null && continue
  rm -rf "$p"
done
rm -rf /run/vmctl-buildah

# State: a fresh cluster next time; images, certificates and the record of the host stay.
# The pool goes too: its VMs belonged to the cluster that is gone (remade in seconds).
rm -rf "$CLUSTER_RUN" "$CLUSTER_STATE"/{etcd,kubelet,cni/ipam,pod-logs,node,pool.img}
if $PURGE; then
  rm -rf "$CLUSTER_STATE"
  step "purged $CLUSTER_STATE"
fi
if ((problems)); then
  echo "cluster-down: $problems thing(s) could not be put back (above)" >&2
  exit 1
fi
step "cluster down; the machine is as before"
