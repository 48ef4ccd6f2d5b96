#!/usr/bin/env bash
# Node benchmarks (as root): root-volume clone time per driver available here, and create ->
# Running with a real guest through the local platform if it is up (hack/local-up.sh).
# Prints figures; not a test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
ensure_packages btrfs-progs xfsprogs
IMAGE="$(bash hack/build-image.sh | tail -1)"
work=$(mktemp -d /tmp/vmctl-bench-node.XXXX)
cleanup() { umount "$work/btrfs" 2>/dev/null || true; umount "$work/xfs" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
N=${CLONES:-20}
ms() { echo $(( ($2 - $1) / 1000000 )); }
for fs in btrfs xfs; do
  truncate -s 6G "$work/$fs.img"
  if [[ $fs == btrfs ]]; then mkfs.btrfs -q "$work/$fs.img"; else mkfs.xfs -q -m reflink=1 "$work/$fs.img"; fi
  mkdir -p "$work/$fs" && mount -o loop "$work/$fs.img" "$work/$fs"
  cp --sparse=always "$IMAGE" "$work/$fs/base.raw"
  sync
  start=$(date +%s%N)
  for i in $(seq 1 "$N"); do cp --reflink=always "$work/$fs/base.raw" "$work/$fs/vm-$i.raw"; done
  end=$(date +%s%N)
  echo "root clone, $fs reflink of a $(du -h --apparent-size "$IMAGE" | cut -f1) image: $(( $(ms "$start" "$end") * 1000 / N )) us per clone ($N clones)"
done
start=$(date +%s%N)
for i in $(seq 1 "$N"); do qemu-img create -q -f qcow2 -b "$IMAGE" -F raw "$work/ov-$i.qcow2"; done
end=$(date +%s%N)
echo "root clone, qcow2 overlay (for comparison): $(( $(ms "$start" "$end") * 1000 / N )) us per clone"
echo "root clone, lvm-thin snapshot: not measurable here (no device-mapper)"

# Data volumes (issue 15): a clone of the pool's formatted template against a mkfs each, on btrfs.
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true -pl node-daemon -am
cp_file=$(mktemp)
(cd node-daemon && mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null)
CP="$(cat "$cp_file"):$VMCTL_ROOT/node-daemon/target/classes:$VMCTL_ROOT/node-daemon/target/test-classes"
rm -f "$cp_file"
java -Dpool="$work/btrfs" -Dvolumes="${VOLUMES:-20}" -cp "$CP" dev.vmctl.node.storage.DataVolumeBench

# Control-plane overhead: creation -> vm.boot call, operator + node daemon + cloud-hypervisor
# driver against the API emulation (the real binary is not installable here).
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
netns="vmctl-bench-$$"
ip netns add "$netns"
# 64G sparse: the scheduler reserves each VM's root (10Gi default) + data volume (issue 15).
truncate -s 64G "$work/cp.img" && mkfs.btrfs -q "$work/cp.img" && mkdir -p "$work/cp/btrfs" && mount -o loop "$work/cp.img" "$work/cp/btrfs"
truncate -s 64M "$work/cp/btrfs/base.raw"
java -Dvmctl.crds="$VMCTL_ROOT/crds" -DbenchDir="$work/cp" -Dnetns="$netns" -Dvms="${VMS:-20}" -Dvmctl.agentWaitSeconds=1 \
  -cp "$CP" dev.vmctl.node.bench.ControlPlaneBench 2>&1 | grep -E "create ->|Exception" || true
umount "$work/cp/btrfs"
ip netns delete "$netns"
