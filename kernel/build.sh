#!/usr/bin/env bash
# Builds the vmctl guest kernel from Debian's linux source package with kernel/vmctl.config
# merged onto x86_64_defconfig. Output: ~/.cache/vmctl/kernel-build/vmlinux (+ .config).
# Takes 20-40 minutes on 2 cores; not run by CI (tests use hack/guest-kernel.sh).
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
ensure_packages linux-source build-essential bc bison flex libelf-dev libssl-dev xz-utils
OUT="$VMCTL_CACHE/kernel-build"
mkdir -p "$OUT"
src_tar=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -1)
work="$OUT/src"
if [[ ! -d "$work" ]]; then
  mkdir -p "$work"
  tar -C "$work" --strip-components=1 -xf "$src_tar"
fi
cd "$work"
make -s x86_64_defconfig
scripts/kconfig/merge_config.sh -m .config "$VMCTL_ROOT/kernel/vmctl.config" >/dev/null
make -s olddefconfig
make -s -j"$(nproc)" vmlinux
cp vmlinux .config "$OUT/"
echo "$OUT/vmlinux"
