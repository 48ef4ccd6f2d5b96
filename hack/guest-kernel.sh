#!/usr/bin/env bash
# Provides a guest kernel for tests and local runs without building one: Debian's cloud
# kernel, its compressed payload extracted to an uncompressed PVH vmlinux (QEMU microvm and
# cloud-hypervisor boot it directly), the few virtio/vsock modules it needs, and a tiny
# busybox initramfs that loads the block driver and switches to the root volume.
# For a kernel with everything built in, see kernel/build.sh.
# Output (last line on stdout): a directory with vmlinux, initramfs.cpio.gz, modules/, version.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages lz4 busybox-static cpio kmod xz-utils

cache_lock guest-kernel
OUT_ROOT="$VMCTL_CACHE/guest"
mkdir -p "$OUT_ROOT/debs"
cd "$OUT_ROOT/debs"
log() { echo "[guest-kernel] $*" >&2; }

pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n "$pkg" ]] || { apt-get update -qq >&2; pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
kver=${pkg#linux-image-}
# Keyed by the initramfs's init too: a changed init is a new kernel directory.
OUT="$OUT_ROOT/kernel-$kver-$(sha256sum "$VMCTL_ROOT/images/guest-kernel/init" | cut -c1-8)"
if [[ -f "$OUT/vmlinux" && -f "$OUT/initramfs.cpio.gz" && -d "$OUT/modules" ]]; then
  log "cached in $OUT"
  echo "$OUT"
  exit 0
fi
log "kernel $kver"
ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download -qq "$pkg" >&2
ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download -qq busybox-static >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$(ls "$pkg"_*.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls busybox-static_*.deb | head -1)" "$work/bb"

# The bzImage wraps a compressed ELF; find it by magic number and decompress (like the
# kernel's scripts/extract-vmlinux).
vmlinuz=$(ls "$work"/k/boot/vmlinuz-*)
try() { # magic, decompressor
  local magic=$1; shift
  for pos in $(LC_ALL=C grep -abo "$magic" "$vmlinuz" | cut -d: -f1 | head -20); do
    tail -c +$((pos + 1)) "$vmlinuz" | "$@" >"$work/vmlinux" 2>/dev/null || true
    if [[ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]]; then return 0; fi
  done
  return 1
}
try $'\x02\x21\x4c\x18' lz4 -dc || try $'\xfd7zXZ\x00' xz -dc || try $'\x1f\x8b\x08' gzip -dc ||
  { log "cannot extract vmlinux from $vmlinuz"; exit 1; }

mkdir -p "$OUT.tmp/modules"
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp/modules/lib/modules/$kver"
src="$work/k/lib/modules/$kver"
# What a vmctl guest needs: virtio transports, block, net, vsock, rng, console.
for m in virtio virtio_ring virtio_mmio virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev \
  virtio_blk virtio_net net_failover failover vsock vmw_vsock_virtio_transport_common \
  vmw_vsock_virtio_transport virtio-rng virtio_console; do
  f=$(find "$src/kernel" -name "$m.ko*" | head -1)
  [[ -n "$f" ]] || { log "module $m not found"; exit 1; }
  mkdir -p "$OUT.tmp/modules/lib/modules/$kver/$(dirname "${f#$src/}")"
  cp "$f" "$OUT.tmp/modules/lib/modules/$kver/${f#$src/}"
done
cp "$src"/modules.order "$src"/modules.builtin* "$OUT.tmp/modules/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$OUT.tmp/modules" "$kver"

# initramfs: busybox, the block and network modules, and images/guest-kernel/init.
ir="$work/initramfs"
mkdir -p "$ir"/{bin,dev,proc,sys,newroot,modules}
cp "$work/bb/bin/busybox" "$ir/bin/busybox"
for m in virtio virtio_ring virtio_mmio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
  failover net_failover virtio_net; do
  cp "$(find "$OUT.tmp/modules" -name "$m.ko*" | head -1)" "$ir/modules/"
done
install -m 0755 "$VMCTL_ROOT/images/guest-kernel/init" "$ir/init"
(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 >"$OUT.tmp/initramfs.cpio.gz")
mv "$work/vmlinux" "$OUT.tmp/vmlinux"
echo "$kver" >"$OUT.tmp/version"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT ($(du -sh "$OUT/vmlinux" | cut -f1) vmlinux)"
echo "$OUT"
