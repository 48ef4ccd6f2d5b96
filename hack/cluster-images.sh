#!/usr/bin/env bash
# Builds vmctl's container images from images/*/Dockerfile without a Docker engine or a
# registry: buildah (vfs storage, chroot isolation) on bases made here:
#   vmctl.local/debian:bookworm  debootstrap --variant=minbase (stands in for debian:bookworm-slim)
#   vmctl.local/jre:17           that + openjdk-17-jre-headless (stands in for eclipse-temurin:17-jre)
# The Dockerfiles take their base as the build argument BASE, so with a registry the same files
# build from the usual upstream bases. The Java jars come from `mvn package` (no install).
# Cached by content: an image is rebuilt only when the hash of its Dockerfile, its base and its
# jars changes; each result is a docker-archive in $VMCTL_CACHE/images/ (one per image).
# Usage: hack/cluster-images.sh            builds operator, node-daemon, ssh-gateway, https-gateway;
#                                          prints "name archive" per image
#        hack/cluster-images.sh --pause    the sandbox image only; prints its archive
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
log() { echo "[cluster-images] $*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "must run as root (debootstrap, buildah chroot)"; exit 1; }
ensure_packages buildah debootstrap
OUT="$VMCTL_CACHE/images"
APT_CACHE="$VMCTL_CACHE/apt-images"
mkdir -p "$OUT" "$APT_CACHE/archives/partial"
BUILDAH=(buildah --root "$VMCTL_CACHE/buildah/storage" --runroot /run/vmctl-buildah --storage-driver vfs)
# buildah makes /etc/cni/net.d on first use (its network config dir); leave none behind.
if [[ ! -e /etc/cni ]]; then trap 'rm -f /etc/cni/net.d/cni.lock; rmdir /etc/cni/net.d /etc/cni 2>/dev/null || true' EXIT; fi
have_image() { "${BUILDAH[@]}" images -q "$1" >/dev/null 2>&1; }
hash_of() { sha256sum | cut -c1-16; }
# timed NAME CMD...: runs CMD and logs how long it took (the numbers docs/benchmarks.md reports).
timed() {
  local name=$1 t0
  shift
  t0=$(date +%s%3N)
  "$@"
  log "$name: $(( ($(date +%s%3N) - t0) / 1000 )) s"
}
# archive NAME TAG HASH: the image as a docker-archive (what `ctr images import` reads).
archive() {
  local name=$1 tag=$2 hash=$3 file="$OUT/$1-$3.tar"
  rm -f "$file.tmp"
  "${BUILDAH[@]}" push -q "$tag" "docker-archive:$file.tmp:$tag" >/dev/null
  mv "$file.tmp" "$file"
  find "$OUT" -maxdepth 1 -name "$name-*.tar" ! -name "$(basename "$file")" -delete
  log "$tag: $(du -h "$file" | cut -f1) ($file)"
}

if [[ "${1:-}" == --pause ]]; then
  # The pod sandbox holds the namespaces and waits; a 1.5 MB static Go binary is enough.
  src=$(printf '%s\n' 'package main' 'import ("os"; "os/signal"; "syscall")' \
    'func main() { c := make(chan os.Signal, 1); signal.Notify(c, syscall.SIGINT, syscall.SIGTERM); <-c }')
  h=$(echo "$src" | hash_of)
  file="$OUT/pause-$h.tar"
  if [[ ! -f "$file" ]]; then
    w=$(mktemp -d)
    echo "$src" >"$w/main.go"
    (cd "$w" && printf 'module pause\ngo 1.21\n' >go.mod && CGO_ENABLED=0 go build -ldflags "-s -w" -o pause .)
    c=$("${BUILDAH[@]}" from scratch)
    "${BUILDAH[@]}" copy -q "$c" "$w/pause" /pause
    "${BUILDAH[@]}" config --entrypoint '["/pause"]' "$c"
    "${BUILDAH[@]}" commit -q --rm "$c" vmctl.local/pause:1 >/dev/null
    archive pause vmctl.local/pause:1 "$h"
    rm -rf "$w"
  fi
  echo "$file"
  exit 0
fi

# --- bases ---
# The bases' keys name their recipe; change BASE_RECIPE when the recipe below changes.
BASE_RECIPE="bookworm minbase v1"
DEBIAN_KEY=$(echo "$BASE_RECIPE" | hash_of)
DEBIAN=vmctl.local/debian:bookworm-$DEBIAN_KEY
if ! have_image "$DEBIAN"; then
  log "debootstrap bookworm (minbase) for $DEBIAN"
  w=$(mktemp -d "$OUT/work.XXXXXX")
  trap 'rm -rf "$w"; rm -f /etc/cni/net.d/cni.lock; rmdir /etc/cni/net.d /etc/cni 2>/dev/null || true' EXIT
  debootstrap_quietly() { "$@" >"$w/log" 2>&1 || { tail -20 "$w/log" >&2; return 1; }; }
  timed "debootstrap" debootstrap_quietly debootstrap --variant=minbase --cache-dir="$APT_CACHE/archives" \
    bookworm "$w/root" "${VMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  rm -rf "$w"/root/var/cache/apt/archives/*.deb "$w"/root/var/lib/apt/lists/*
  c=$("${BUILDAH[@]}" from scratch)
  "${BUILDAH[@]}" copy -q "$c" "$w/root/" /
  "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$c"
  "${BUILDAH[@]}" commit -q --rm "$c" "$DEBIAN" >/dev/null
  rm -rf "$w"
fi
JRE_KEY=$(echo "$DEBIAN_KEY openjdk-17-jre-headless" | hash_of)
JRE=vmctl.local/jre:17-$JRE_KEY
if ! have_image "$JRE"; then
  log "$JRE: openjdk-17-jre-headless on $DEBIAN"
  c=$("${BUILDAH[@]}" from -q "$DEBIAN")
  timed "jre base" "${BUILDAH[@]}" run --isolation chroot -v "$APT_CACHE/archives:/var/cache/apt/archives" "$c" -- \
    sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null && rm -rf /var/lib/apt/lists/*' >&2
  "${BUILDAH[@]}" commit -q --rm "$c" "$JRE" >/dev/null
fi

# --- jars: mvn package in this tree (no install, so ~/.m2 snapshots of other trees stay) ---
step "jars (mvn package + runtime dependencies)"
rm -rf operator/target/dependency node-daemon/target/dependency ssh-gateway/target/dependency \
  https-gateway/target/dependency
# The guest agent's jar goes into the guest image (hack/build-image.sh), which is keyed by the
# jar's bytes: rebuilt only when missing, so an unchanged agent does not remake the image.
modules=operator,node-daemon,ssh-gateway,https-gateway
[[ -f guest-agent/target/vmctl-guest-agent.jar ]] || modules+=,guest-agent
timed "mvn package" mvn -B -ntp -q package dependency:copy-dependencies -DincludeScope=runtime \
  -DskipTests -Dspotless.check.skip=true -pl "$modules" -am >&2

# --- the Dockerfiles ---
for name in operator node-daemon ssh-gateway https-gateway; do
  base=$JRE
  [[ $name == node-daemon ]] && base=$DEBIAN
  # Jars are hashed by their entries' contents, not their bytes (zip timestamps change per build).
  key=$( { echo "$base"; cat "images/$name/Dockerfile";
    for j in "$name"/target/dependency/*.jar "$name"/target/vmctl-"$name"-*.jar; do
      echo "$(basename "$j") $(unzip -p "$j" | sha256sum | cut -c1-16)"; done; } | hash_of)
  file="$OUT/$name-$key.tar"
  if [[ ! -f "$file" ]]; then
    # --layers: a jar change rebuilds only the COPY layers, not the node daemon's apt layer.
    log "building images/$name/Dockerfile on $base"
    args=(--build-arg "BASE=$base")
    [[ $name == node-daemon ]] && args+=(--build-arg CLOUD_HYPERVISOR_URL=)
    timed "build $name" "${BUILDAH[@]}" bud -q --isolation chroot --layers "${args[@]}" \
      -v "$APT_CACHE/archives:/var/cache/apt/archives" \
      -f "images/$name/Dockerfile" -t "vmctl.local/$name:dev" . >&2
    timed "archive $name" archive "$name" "vmctl.local/$name:dev" "$key"
  else
    log "cached: vmctl.local/$name:dev ($file)"
  fi
  echo "$name $file"
done
