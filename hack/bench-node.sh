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
