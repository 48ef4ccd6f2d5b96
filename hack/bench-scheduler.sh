#!/usr/bin/env bash
# Scheduler benchmark: real kube-apiserver, 100 simulated hosts, the operator as its own process.
# Prints create->Scheduled latency (p50/p99) at a steady creation rate, sustained throughput and
# operator RSS with 10,000 VMs. Knobs: RATE (100), TIMED_VMS (2000), TOTAL_VMS (10000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
cp_file=$(mktemp)
# Compiled in the reactor, not installed: the classpath points at api/ and testkit/'s target
# directories, so the shared ~/.m2 snapshots other checkouts use stay untouched. Each module
# writes the file; the operator comes last in the reactor, so its classpath is what remains.
mvn -B -q -ntp test-compile dependency:build-classpath -Dspotless.check.skip=true \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" -pl operator -am >/dev/null
main_cp="$(cat "$cp_file"):$VMCTL_ROOT/operator/target/classes"
op_cp="$main_cp"
java -Dvmctl.crds="$VMCTL_ROOT/crds" -Drate="${RATE:-100}" -DtimedVms="${TIMED_VMS:-2000}" \
  -DtotalVms="${TOTAL_VMS:-10000}" -DoperatorHeap="${OPERATOR_HEAP:--Xmx256m}" -DoperatorClasspath="$op_cp" \
  -cp "$main_cp:$VMCTL_ROOT/operator/target/test-classes" dev.vmctl.operator.bench.SchedulerBench
rm -f "$cp_file"
