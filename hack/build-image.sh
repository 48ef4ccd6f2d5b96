#!/usr/bin/env bash
# Builds the vmctl base image without Docker: debootstrap Debian bookworm (packages from
# images/base/packages.txt), add a jlink'd Java runtime, the guest agent, the kernel modules of
# the guest kernel, images/base/rootfs/ and images/base/setup.sh (the same inputs the
# Dockerfile uses), then `mkfs.ext4 -d` into a raw image.
# Cached by content: the output name carries a hash of every input, so an unchanged build is
# instant. Timestamps, the filesystem UUID and hash seed are fixed for reproducibility.
# Needs root. Usage: hack/build-image.sh [AGENT_JAR]  (prints the image path last)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
log() { echo "[build-image] $*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "must run as root (debootstrap, chroot)"; exit 1; }
ensure_packages debootstrap e2fsprogs openjdk-17-jdk-headless

AGENT_JAR="${1:-$VMCTL_ROOT/guest-agent/target/vmctl-guest-agent.jar}"
[[ -f "$AGENT_JAR" ]] || { log "no agent jar at $AGENT_JAR; run: mvn -pl guest-agent -am package -DskipTests"; exit 1; }
KERNEL_DIR="$(bash hack/guest-kernel.sh)"
KVER=$(cat "$KERNEL_DIR/version")
SUITE=bookworm
MIRROR="${VMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=$(grep -v '^#' images/base/packages.txt | paste -sd, -)
EPOCH=1767225600 # 2026-01-01T00:00:00Z: every file's timestamp in the image

cache_lock build-image
OUT_DIR="$VMCTL_CACHE/guest"
mkdir -p "$OUT_DIR"
base_key=$(printf '%s\n' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
key=$( (echo "$base_key $KVER"; sha256sum "$AGENT_JAR" | cut -d' ' -f1; \
  find images/base hack/build-image.sh -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
IMAGE="$OUT_DIR/base-$key.raw"
if [[ -f "$IMAGE" ]]; then
  touch "$IMAGE" # recently used: kept by the pruning below
  log "cached: $IMAGE"
  echo "$IMAGE"
  exit 0
fi

work=$(mktemp -d "$OUT_DIR/build.XXXX")
cleanup() { umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
root="$work/root"

# Stage 1, the slow part, cached separately: debootstrap depends only on suite + packages.
BASE_TAR="$OUT_DIR/debootstrap-$base_key.tar"
if [[ ! -f "$BASE_TAR" ]]; then
  log "debootstrap $SUITE (a few minutes, once)"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -30 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$root" -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
else
  log "debootstrap cached: $BASE_TAR"
  mkdir -p "$root" && tar -C "$root" -xf "$BASE_TAR"
fi

log "java runtime (jlink java.base + class-data sharing archive)"
rm -rf "$root/opt/vmctl/jre"
jlink --add-modules java.base --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$root/opt/vmctl/jre"
"$root/opt/vmctl/jre/bin/java" -Xshare:dump -XX:+UseSerialGC >/dev/null
install -D -m 0644 "$AGENT_JAR" "$root/opt/vmctl/agent/vmctl-guest-agent.jar"

log "kernel modules $KVER"
mkdir -p "$root/lib/modules"
cp -a "$KERNEL_DIR/modules/lib/modules/$KVER" "$root/lib/modules/"

log "rootfs overlay and setup"
cp -a images/base/rootfs/. "$root/"
install -m 0755 images/base/setup.sh "$root/tmp/setup.sh"
mount -t proc proc "$root/proc"
chroot "$root" /tmp/setup.sh >&2
umount "$root/proc"
rm -f "$root/tmp/setup.sh"

find "$root" -xdev -newermt "@$EPOCH" -exec touch -h -d "@$EPOCH" {} + 2>/dev/null || true
used_kb=$(du -sk "$root" | cut -f1)
size_mb=$(( used_kb * 13 / 10 / 1024 + 256 ))
log "mkfs.ext4 -d (${size_mb} MiB image for $((used_kb / 1024)) MiB of files)"
E2FSPROGS_FAKE_TIME=$EPOCH mkfs.ext4 -q -F -L vmctl-root -U 6b1c4d9e-5a53-4c1e-9f0e-766d63746c00 \
  -E hash_seed=766d6374-6c00-4000-8000-000000000000,root_owner=0:0 \
  -d "$root" "$work/image.raw" "${size_mb}M"
mv "$work/image.raw" "$IMAGE"
# Keep the cache from growing by one image per change, but keep the few most recently used: other
# checkouts (worktrees, a CI clone) of other sources may be using theirs right now.
ls -t "$OUT_DIR"/base-*.raw 2>/dev/null | tail -n +5 | xargs -r rm -f
log "ready: $IMAGE ($(du -h --apparent-size "$IMAGE" | cut -f1) apparent, $(du -h "$IMAGE" | cut -f1) on disk)"
echo "$IMAGE"
