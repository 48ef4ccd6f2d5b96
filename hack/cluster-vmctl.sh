#!/usr/bin/env bash
# Deploys vmctl on the cluster of hack/cluster-up.sh (which runs this script): builds the images
# (hack/cluster-images.sh) and imports them into containerd, prepares the host the way
# docs/operations.md asks an administrator to (storage pool, guest kernel, base image, the
# vmctl.dev/vm-host label, the HTTPS certificate Secret), applies manifests/overlays/local and
# waits until every vmctl pod is Ready. Registers a key as User "me" (for hack/journey.sh).
# Safe to run again: unchanged images are neither rebuilt nor re-imported; changed ones are
# imported and their workloads restarted.
set -euo pipefail
source "$(dirname "$0")/cluster-lib.sh"
cd "$VMCTL_ROOT"
T0=$(date +%s)

step "images (hack/cluster-images.sh; cached by content)"
mkdir -p "$CLUSTER_STATE/imported"
changed=()
while read -r name file; do
  if [[ "$(cat "$CLUSTER_STATE/imported/$name" 2>/dev/null)" == "$file" ]] \
    && cctr images ls -q | grep -x "vmctl.local/$name:dev" >/dev/null; then
    continue
  fi
  t=$(date +%s%3N)
  cctr images import "$file" >/dev/null
  echo "[cluster-vmctl] imported vmctl.local/$name:dev in $(( $(date +%s%3N) - t )) ms" >&2
  echo "$file" >"$CLUSTER_STATE/imported/$name"
  changed+=("$name")
done < <(bash hack/cluster-images.sh)

step "host preparation: btrfs pool at $NODE_STATE, guest kernel, base image"
KERNEL_DIR="$(bash hack/guest-kernel.sh | tail -1)"
IMAGE="$(bash hack/build-image.sh | tail -1)"
# 64G (was 20G): the journey's two example VMs reserve 35Gi of root + data volumes together.
btrfs_pool "$CLUSTER_STATE/pool.img" "$NODE_STATE" 64G
mkdir -p "$NODE_STATE/kernel" "$NODE_STATE/images"
for f in vmlinux initramfs.cpio.gz version; do
  cmp -s "$KERNEL_DIR/$f" "$NODE_STATE/kernel/$f" || cp "$KERNEL_DIR/$f" "$NODE_STATE/kernel/$f"
done
if ! cmp -s "$IMAGE" "$NODE_STATE/images/debian-12.raw" 2>/dev/null; then
  cp --sparse=always "$IMAGE" "$NODE_STATE/images/debian-12.raw.tmp"
  mv "$NODE_STATE/images/debian-12.raw.tmp" "$NODE_STATE/images/debian-12.raw"
fi
kctl label node "$CLUSTER_NODE" vmctl.dev/vm-host=true --overwrite >/dev/null

step "HTTPS certificate for *.vm.vmctl.test (signed by the cluster CA)"
PKI="$CLUSTER_STATE/pki"
if [[ ! -f "$PKI/https.crt" ]]; then
  openssl genrsa -out "$PKI/https.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/https.key" -subj "/CN=vm.vmctl.test" -out "$PKI/https.csr" 2>/dev/null
  printf 'subjectAltName=DNS:vm.vmctl.test,DNS:*.vm.vmctl.test\nextendedKeyUsage=serverAuth\n' >"$PKI/https.ext"
  openssl x509 -req -in "$PKI/https.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$PKI/https.ext" -out "$PKI/https.crt" 2>/dev/null
  rm -f "$PKI/https.csr" "$PKI/https.ext"
fi
kctl get namespace vmctl-system >/dev/null 2>&1 || kctl create namespace vmctl-system >/dev/null
kctl -n vmctl-system create secret tls vmctl-https-tls --cert "$PKI/https.crt" --key "$PKI/https.key" \
  --dry-run=client -o yaml | kctl apply -f - >/dev/null

step "kubectl apply -k manifests/overlays/local"
kctl apply --server-side --force-conflicts -k manifests/overlays/local >/dev/null
kctl wait --for=condition=Established crd --all --timeout=60s >/dev/null
for name in "${changed[@]}"; do
  case $name in
    node-daemon) kctl -n vmctl-system rollout restart ds/vmctl-node-daemon >/dev/null ;;
    *) kctl -n vmctl-system rollout restart "deploy/vmctl-$name" >/dev/null ;;
  esac
done
for w in ds/vmctl-node-daemon deploy/vmctl-operator deploy/vmctl-ssh-gateway deploy/vmctl-https-gateway; do
  kctl -n vmctl-system rollout status "$w" --timeout=300s >/dev/null || {
    kctl -n vmctl-system get pods -o wide >&2
    kctl -n vmctl-system describe "$w" | tail -20 >&2
    exit 1
  }
done
# Pods of a replaced ReplicaSet may vanish while `wait` watches them ("pods … not found" after a
# rollout restart, seen in CI): ask again until every pod that exists is Ready.
for try in 1 2 3 4 5 6; do
  kctl -n vmctl-system wait --for=condition=Ready pod --all --timeout=300s >/dev/null 2>&1 && break
  (( try < 6 )) || { kctl -n vmctl-system get pods -o wide >&2; exit 1; }
  sleep 2
done

step "registering a key as User \"me\""
[[ -f "$CLUSTER_STATE/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N "" -C vmctl-cluster -f "$CLUSTER_STATE/id_ed25519"
cat <<USER | kctl apply -f - >/dev/null
apiVersion: vmctl.dev/v1alpha1
kind: User
metadata:
  name: me
spec:
  email: me@example.com
  sshKeys:
    - $(cat "$CLUSTER_STATE/id_ed25519.pub")
USER
kctl wait --for=condition=Ready user/me --timeout=120s >/dev/null
for _ in $(seq 1 120); do kctl get host "$CLUSTER_NODE" >/dev/null 2>&1 && break; sleep 0.5; done
kctl get host "$CLUSTER_NODE" >/dev/null || { echo "cluster-vmctl: the node daemon registered no Host" >&2; exit 1; }
# The gateways learn of Users from their informers, a moment after the API server has the User:
# wait until the SSH gateway knows the key, so that the first command run after this script works.
# (CI once saw `whoami` answer "not registered" right after this script; the tries are printed.)
tries=0
until ssh -i "$CLUSTER_STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
  -p 22 10.96.0.22 whoami 2>/dev/null | grep -qi '^user: *me$'; do
  (( ++tries < 60 )) || { echo "cluster-vmctl: the SSH gateway does not know User me's key" >&2; exit 1; }
  sleep 0.5
done
(( tries == 0 )) || echo "[cluster-vmctl] the SSH gateway knew User me after $tries tries" >&2
echo "[cluster-vmctl] vmctl deployed and Ready in $(( $(date +%s) - T0 )) s" >&2
