#!/usr/bin/env bash
# The test command: installs what is missing, provides the Kubernetes binaries, then runs
# every test layer (unit, real kube-apiserver, ...) and the formatting and stale-CRD checks.
# Extra arguments go to Maven, e.g. hack/test.sh -pl operator -am
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"

ensure_toolchain
step "Kubernetes binaries (etcd, kube-apiserver, kubectl)"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES

step "mvn verify"
mvn -B -ntp verify "$@"
