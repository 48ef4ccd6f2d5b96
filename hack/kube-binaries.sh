#!/usr/bin/env bash
# Provides etcd, kube-apiserver and kubectl on a fresh machine with no internet access
# beyond the package registries:
#   - etcd: Debian trixie's etcd-server package, downloaded with apt-get through a private
#     sources list and unpacked (not installed), so the host's package state is untouched.
#   - kube-apiserver and kubectl: built from the Go module proxy at one pinned Kubernetes
#     release (k8s.io/kubernetes is not packaged; trixie's kubernetes-client is empty).
#   - with --node, also kubelet, kube-controller-manager, kube-scheduler and kube-proxy from the
#     same module (what hack/cluster-up.sh runs for a real single-node cluster).
# Binaries are cached in $VMCTL_CACHE/kube/<k8s-version>/ (outside the repo); a second run
# only checks that they exist. Prints the directory on stdout as the last line.
# Usage: hack/kube-binaries.sh [--node]
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_DEB_VERSION="${ETCD_DEB_VERSION:-3.5.16-4}"
CACHE="${VMCTL_CACHE:-$HOME/.cache/vmctl}"
OUT="$CACHE/kube/v$K8S_VERSION"
log() { echo "[kube-binaries] $*" >&2; }
TOOLS=(kube-apiserver kubectl)
NODE_TOOLS=(kubelet kube-controller-manager kube-scheduler kube-proxy)
[[ "${1:-}" == --node ]] && TOOLS+=("${NODE_TOOLS[@]}")

all_built() {
  local t
  for t in etcd "${TOOLS[@]}"; do [[ -x "$OUT/$t" ]] || return 1; done
}
if all_built; then
  log "cached in $OUT"
  echo "$OUT"
  exit 0
fi
# Another run may be building them right now (two sessions on a fresh machine): wait for it.
mkdir -p "$CACHE"
exec 9>"$CACHE/.kube-binaries.lock"
flock 9
if all_built; then
  log "cached in $OUT (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi
mkdir -p "$OUT"

fetch_debs() {
  local apt="$CACHE/apt-trixie"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial"
  cat >"$apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives")
  log "apt: reading trixie package lists"
  apt-get "${opts[@]}" -qq update 2>&1 | grep -v "unsandboxed" >&2 || true
  (cd "$apt/archives" && apt-get "${opts[@]}" -qq download "etcd-server=$ETCD_DEB_VERSION" >&2)
  local x="$apt/extract"
  rm -rf "$x" && mkdir -p "$x"
  dpkg-deb -x "$apt/archives/etcd-server_${ETCD_DEB_VERSION}_amd64.deb" "$x"
  install -m 0755 "$x/usr/bin/etcd" "$OUT/etcd"
}

build_apiserver() {
  local mod="$CACHE/kube-apiserver-build/v$K8S_VERSION"
  mkdir -p "$mod"
  local minor="${K8S_VERSION#1.}"
  local staging_version="v0.$minor"
  cd "$mod"
  cat >go.mod <<MOD
module vmctl.dev/kube-apiserver-build

go 1.24

require k8s.io/kubernetes v$K8S_VERSION
MOD
  # k8s.io/kubernetes refers to its staging modules as v0.0.0; pin each to the matching release.
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
    sample-apiserver sample-cli-plugin sample-controller)
  for m in "${staging[@]}"; do
    echo "replace k8s.io/$m => k8s.io/$m $staging_version" >>go.mod
  done
  # Every binary this script can build is listed, so go.mod/go.sum stay the same whichever is asked for.
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  export GOFLAGS=-mod=mod
  log "go: resolving k8s.io/kubernetes v$K8S_VERSION"
  # Modules that do not exist for this release (newer staging names) are dropped from the replace list.
  local tries=0
  until go mod tidy >"$mod/tidy.log" 2>&1; do
    tries=$((tries + 1))
    local bad
    bad=$(grep -oE 'k8s.io/[a-z0-9-]+@v0\.[0-9.]+: (reading|invalid|unknown)' "$mod/tidy.log" | head -1 | cut -d@ -f1 || true)
    if [[ -z "$bad" || $tries -gt 10 ]]; then cat "$mod/tidy.log" >&2; exit 1; fi
    log "go: $bad has no $staging_version; dropping its replace"
    sed -i "\#^replace $bad =>#d" go.mod
  done
  log "go: building ${TOOLS[*]} (several minutes each on a cold cache)"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${minor%%.*}"
  local t
  for t in "${TOOLS[@]}"; do
    [[ -x "$OUT/$t" ]] && continue
    log "go build $t"
    # One at a time (the machines have 2 cores); written under a temporary name so an
    # interrupted build never looks cached.
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/$t.tmp" "k8s.io/kubernetes/cmd/$t"
    mv "$OUT/$t.tmp" "$OUT/$t"
  done
}

[[ -x "$OUT/etcd" ]] || fetch_debs
all_built || (build_apiserver)
log "ready in $OUT"
echo "$OUT"
