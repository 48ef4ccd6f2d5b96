#!/usr/bin/env bash
# Chaos run (as root; not a test): the operator and the node daemon as processes of their own,
# killed with SIGKILL at random during create/delete churn of VMs created in simultaneous pairs,
# against a real kube-apiserver, real btrfs volumes and TAPs in a network namespace. VMMs are the
# cloud-hypervisor emulator run as processes of their own (the real binary cannot run here: no
# usable KVM), so they outlive a killed daemon like real ones. Prints duplicate identities seen
# and the orphans left. SECONDS_TO_RUN (default 300) sets the length.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
ensure_packages btrfs-progs
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true -pl node-daemon -am
cp_file=$(mktemp)
(cd node-daemon && mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null)
work=$(mktemp -d /tmp/vmctl-chaos.XXXX)
netns="vmctl-chaos-$$"
cleanup() {
  pkill -9 -f "$work" 2>/dev/null || true
  umount "$work/btrfs" 2>/dev/null || true
  ip netns delete "$netns" 2>/dev/null || true
  rm -rf "$work" "$cp_file"
}
trap cleanup EXIT
ip netns add "$netns"
ip -n "$netns" link set lo up
# 64G sparse: up to ~14 VMs at once, each reserving a 2Gi root + 1Gi data volume (issue 15).
truncate -s 64G "$work/pool.img" && mkfs.btrfs -q "$work/pool.img" && mkdir -p "$work/btrfs"
mount -o loop "$work/pool.img" "$work/btrfs"
truncate -s 64M "$work/btrfs/base.raw"
java -Dvmctl.crds="$VMCTL_ROOT/crds" -DbenchDir="$work" -Dnetns="$netns" \
  -Dseconds="${SECONDS_TO_RUN:-300}" \
  -cp "$(cat "$cp_file"):$VMCTL_ROOT/node-daemon/target/classes:$VMCTL_ROOT/node-daemon/target/test-classes" \
  dev.vmctl.node.bench.ChaosBench 2>&1 | grep -E "^(chaos run|duplicate|VMs not gone|orphans)|Exception" || true
