#!/usr/bin/env bash
# Stops everything hack/local-up.sh started and leaves no process, network namespace, mount,
# loop device or TAP behind. State (etcd data, the pool image) is kept unless --purge.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
NETNS="${VMCTL_LOCAL_NETNS:-vmctl-local}"
POOL="$STATE/pool"
shopt -s nullglob
stop_pid() { # name pid
  if kill -0 "$2" 2>/dev/null; then
    step "stopping $1 (pid $2)"
    kill "$2" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$2" 2>/dev/null || true
  fi
}
for name in https-gateway ssh-gateway node-daemon operator kube-apiserver; do
  [[ -f "$STATE/run/$name.pid" ]] && stop_pid "$name" "$(cat "$STATE/run/$name.pid")"
  rm -f "$STATE/run/$name.pid"
done
# VMs outlive the node daemon by design; local-down ends them too.
if pgrep -f "$POOL/vms/" >/dev/null 2>&1; then
  step "stopping VMs"
  pkill -f "$POOL/vms/" || true
  sleep 1
  pkill -9 -f "$POOL/vms/" || true
fi
if ip link show vmctl-lh >/dev/null 2>&1; then
  step "removing the veth into $NETNS (its route goes with it)"
  ip link delete vmctl-lh
fi
if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
  step "removing network namespace $NETNS (bridge and TAP devices go with it)"
  ip netns delete "$NETNS"
fi
if mountpoint -q "$POOL" 2>/dev/null; then
  step "unmounting $POOL"
  umount "$POOL" || umount -l "$POOL"
fi
for loop in $(losetup -j "$STATE/pool.img" 2>/dev/null | cut -d: -f1); do
  losetup -d "$loop" || true
done
if [[ "${1:-}" == "--purge" ]]; then
  step "removing $STATE"
  rm -rf "$STATE"
fi
