#!/usr/bin/env bash
# SSH gateway benchmark: a real kube-apiserver, the gateway in-process, a real sshd in a network
# namespace standing in for a VM, the real OpenSSH client. Prints, per mode (direct SSH to the
# sshd; OpenSSH's own sshd on loopback as the jump host, the anchor; ProxyJump through the gateway;
# username routing through the gateway), large-file upload and download throughput with the ratios
# to the anchor and to direct, and the median time of `ssh ... true` (connection set-up + auth +
# exec), per run and as median (min-max) over the runs. Needs root (network namespace).
# Knobs: RUNS (3), WARMUP (1 untimed transfer each way per mode first), MIB (128), ROUNDS (2, best of), CONNECTS (15, median of), MODES (e.g. proxyjump:
# only that gateway mode beside direct and the anchor), JFR (a path: a JFR profile of the gateway's
# JVM goes there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_KUBE_BINARIES="${VMCTL_KUBE_BINARIES:-$(kube_binaries | tail -1)}"
export VMCTL_KUBE_BINARIES
# The reactor builds what the gateway needs (no install into ~/.m2); SshGatewayBench is not
# matched by Surefire's default includes, so only -Dtest runs it.
out="$VMCTL_ROOT/ssh-gateway/target/bench-ssh-gateway.txt"
rm -f "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mvn -B -q -ntp -pl ssh-gateway -am verify -Dspotless.check.skip=true \
  -Dtest=SshGatewayBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.mib="${MIB:-128}" -Dbench.rounds="${ROUNDS:-2}" -Dbench.connects="${CONNECTS:-15}" \
  -DargLine="-Dbench.mib=${MIB:-128} -Dbench.rounds=${ROUNDS:-2} -Dbench.connects=${CONNECTS:-15} -Dbench.runs=${RUNS:-3} -Dbench.warmup=${WARMUP:-1} -Dbench.modes=${MODES:-} -Dbench.out=$out${JFR:+ -XX:StartFlightRecording=filename=$JFR,settings=profile}" \
  >/dev/null 2>&1 || { echo "benchmark failed; see ssh-gateway/target/surefire-reports" >&2; exit 1; }
echo "load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
cat "$out"
