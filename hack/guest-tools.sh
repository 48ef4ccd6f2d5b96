#!/usr/bin/env bash
# Provides what booting a real guest here needs: QEMU (Debian) and vhost-device-vsock, the
# user-space vsock device (Debian sid's package, unpacked into the cache; it runs on bookworm).
# /dev/vhost-vsock is absent on these machines; vhost-device-vsock exposes the same hybrid-vsock
# Unix socket (CONNECT <port>) that cloud-hypervisor does. Prints the vhost-device-vsock path.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages qemu-system-x86 qemu-utils openssh-client iproute2
cache_lock guest-tools
VERSION="${VHOST_DEVICE_VSOCK_VERSION:-0.3.0-2}"
OUT="$VMCTL_CACHE/vhost-device-vsock/$VERSION"
if [[ -x "$OUT/vhost-device-vsock" ]]; then
  echo "$OUT/vhost-device-vsock"
  exit 0
fi
apt_dir="$VMCTL_CACHE/apt-sid"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$OUT"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$apt_dir/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives")
apt-get "${opts[@]}" -qq update 2>&1 | grep -v unsandboxed >&2 || true
(cd "$apt_dir/archives" && apt-get "${opts[@]}" -qq download "vhost-device-vsock=$VERSION" 2>&1 | grep -v unsandboxed >&2 || true)
x=$(mktemp -d)
dpkg-deb -x "$apt_dir"/archives/vhost-device-vsock_*.deb "$x"
install -m 0755 "$x/usr/bin/vhost-device-vsock" "$OUT/vhost-device-vsock"
rm -rf "$x"
"$OUT/vhost-device-vsock" --version >&2
echo "$OUT/vhost-device-vsock"
