# Shared helpers for hack/ scripts. Source it; do not run it.
VMCTL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VMCTL_CACHE="${VMCTL_CACHE:-$HOME/.cache/vmctl}"
export VMCTL_CACHE

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

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
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
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
