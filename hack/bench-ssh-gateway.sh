#!/usr/bin/env bash
# SSH gateway benchmark: a real kube-apiserver, the gateway in-process, a real sshd in a network
# namespace standing in for a VM, the real OpenSSH client. Prints, per mode (direct SSH to the
# sshd, ProxyJump through the gateway, username routing through the gateway), large-file upload and
# download throughput with the ratio to direct, and the median time of `ssh ... true` (connection
# set-up + auth + exec). Needs root (network namespace). Knobs: MIB (128), ROUNDS (3), CONNECTS (15).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_KUBE_BINARIES="${VMCTL_KUBE_BINARIES:-$(kube_binaries | tail -1)}"
export VMCTL_KUBE_BINARIES
# The reactor builds what the gateway needs (no install into ~/.m2); SshGatewayBench is not
# matched by Surefire's default includes, so only -Dtest runs it.
out="$VMCTL_ROOT/ssh-gateway/target/bench-ssh-gateway.txt"
rm -f "$out"
mvn -B -q -ntp -pl ssh-gateway -am verify -Dspotless.check.skip=true \
  -Dtest=SshGatewayBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.mib="${MIB:-128}" -Dbench.rounds="${ROUNDS:-3}" -Dbench.connects="${CONNECTS:-15}" \
  -DargLine="-Dbench.mib=${MIB:-128} -Dbench.rounds=${ROUNDS:-3} -Dbench.connects=${CONNECTS:-15} -Dbench.out=$out" \
  >/dev/null 2>&1 || { echo "benchmark failed; see ssh-gateway/target/surefire-reports" >&2; exit 1; }
cat "$out"
