#!/usr/bin/env bash
# The test command: installs what is missing, provides the Kubernetes binaries, then runs
# every test layer (unit, real kube-apiserver, ...) and the formatting and stale-CRD checks.
# Extra arguments go to Maven, e.g. hack/test.sh -pl operator -am
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"

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

step "mvn verify"
mvn -B -ntp verify "$@"

# The user journey on the local platform (hack/local-up.sh, real guests, both gateways), as the
# README describes it; it stops the platform again when it started it.
if [[ $# -eq 0 ]]; then
  step "user journey (hack/journey.sh)"
  bash hack/journey.sh
else
  step "user journey not run: Maven arguments select a subset (run hack/journey.sh by itself)"
fi
