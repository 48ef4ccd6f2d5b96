# Shared helpers for hack/ scripts. Source it; do not run it.
VMCTL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VMCTL_CACHE="${VMCTL_CACHE:-$HOME/.cache/vmctl}"
export VMCTL_CACHE

CURRENT_STEP=""
step() { CURRENT_STEP="$*"; printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Serialises scripts that fill the same cache entry (two sessions, or a test and a set-up, may run
# them at once on a fresh machine): the second waits for the first and then finds the cache full.
# Holds the lock on fd 9 until the script exits.
cache_lock() {
  mkdir -p "$VMCTL_CACHE"
  exec 9>"$VMCTL_CACHE/.$1.lock"
  flock 9
}

# Installs Debian packages that are missing (a fresh machine may lack some).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    step "installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    # dpkg's lock may be held by another script installing at the same moment: wait for it.
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >&2
  fi
}

ensure_toolchain() {
  command -v java >/dev/null && command -v mvn >/dev/null && command -v go >/dev/null || true
  ensure_packages openjdk-17-jdk-headless maven ca-certificates
  if ! command -v go >/dev/null; then
    ensure_packages golang-go
  fi
}

# Prints the directory holding etcd, kube-apiserver and kubectl (building them on first use).
kube_binaries() {
  bash "$VMCTL_ROOT/hack/kube-binaries.sh"
}

# A loop-mounted btrfs pool in a sparse file: created at $3 (e.g. 64G) if missing, grown in place
# if an older file is smaller (sparse, so growing costs nothing until VMs write), mounted at $2.
# Hosts reserve virtual sizes (each VM its root + data volume, 20Gi by default; docs/operator.md),
# so the file's size is what the scheduler may hand out, not what the disk holds.
btrfs_pool() {
  local img=$1 mnt=$2 size=$3 grown=false
  mkdir -p "$mnt"
  if [[ ! -f "$img" ]]; then
    truncate -s "$size" "$img"
    mkfs.btrfs -q "$img"
  elif (($(stat -c %s "$img") < $(numfmt --from=iec "$size"))); then
    step "growing the pool file $img to $size (sparse)"
    truncate -s "$size" "$img"
    grown=true
  fi
  mountpoint -q "$mnt" || mount -o loop "$img" "$mnt"
  if [[ $grown == true ]]; then
    losetup -c "$(findmnt -no SOURCE "$mnt")"
    btrfs filesystem resize max "$mnt" >/dev/null
  fi
}
