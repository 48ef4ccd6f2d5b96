#!/usr/bin/env bash
# The test command: installs what is missing, provides the Kubernetes binaries, then runs
# every test layer (unit, real kube-apiserver, ...) and the formatting and stale-CRD checks.
# Extra arguments go to Maven, e.g. hack/test.sh -pl operator -am
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
T0=$(date +%s)
# The last line names the failed step: CI shows only the tail of the output.
report() {
  local rc=${1:-$?}
  [[ $rc -eq 0 ]] || printf '\033[31mhack/test.sh FAILED (exit %s) after %s s in step: %s\033[0m\n' "$rc" "$(($(date +%s) - T0))" "$CURRENT_STEP" >&2
}
trap report EXIT

ensure_toolchain
# Host tools the root-level tests use: btrfs pools, nftables rules, ping, pgrep.
ensure_packages btrfs-progs nftables iputils-ping procps iproute2 util-linux openssh-client \
  openssh-server openssh-sftp-server openssl curl chromium nginx-light wrk busybox-static
# BIND (named) for the https-gateway's RFC 2136 DNS-01 test.
ensure_packages bind9
step "Kubernetes binaries (etcd, kube-apiserver, kubectl)"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
step "Pebble ACME test server (https-gateway certificate tests)"
VMCTL_PEBBLE="$(bash hack/pebble.sh | tail -1)"
export VMCTL_PEBBLE

# The real-guest tests boot the base image under QEMU: build the agent, then the guest kernel,
# the image and vhost-device-vsock (each cached by content in ~/.cache/vmctl).
step "guest agent jar"
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true -pl guest-agent -am
step "guest kernel"
VMCTL_GUEST_KERNEL_DIR="$(bash hack/guest-kernel.sh | tail -1)"
step "base image (debootstrap on the first run, about a minute)"
VMCTL_GUEST_IMAGE="$(bash hack/build-image.sh | tail -1)"
step "QEMU and vhost-device-vsock"
VMCTL_VHOST_VSOCK="$(bash hack/guest-tools.sh | tail -1)"
export VMCTL_GUEST_KERNEL_DIR VMCTL_GUEST_IMAGE VMCTL_VHOST_VSOCK

step "mvn verify (every layer: unit, kube, and the root-only host and guest layers)"
mvn -B -ntp verify -Proot-layers "$@"

# The user journey on the local platform (hack/local-up.sh, real guests, both gateways), as the
# README describes it; it stops the platform again when it started it.
if [[ $# -eq 0 ]]; then
  step "user journey (hack/journey.sh)"
  bash hack/journey.sh
  # vmctl as it is deployed: a real single-node Kubernetes cluster, images built from
  # images/*/Dockerfile, kubectl apply -k manifests/overlays/local; the journey through the
  # gateways' Services, then the node-daemon pod restart tests. cluster-down runs whatever happens.
  step "cluster: hack/cluster-up.sh, hack/journey.sh --cluster, hack/cluster-pod-restart.sh"
  trap 'rc=$?; bash hack/cluster-down.sh || true; report $rc' EXIT
  t0=$(date +%s)
  bash hack/cluster-up.sh >/dev/null
  t1=$(date +%s)
  bash hack/journey.sh --cluster
  t2=$(date +%s)
  bash hack/cluster-pod-restart.sh
  t3=$(date +%s)
  bash hack/cluster-down.sh
  trap report EXIT
  echo "cluster steps: up $((t1 - t0)) s, journey $((t2 - t1)) s, pod-restart tests $((t3 - t2)) s, down $(( $(date +%s) - t3 )) s" >&2
else
  step "user journeys not run: Maven arguments select a subset (run hack/journey.sh [--cluster] by itself)"
fi
