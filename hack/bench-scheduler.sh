#!/usr/bin/env bash
# Scheduler benchmark: real kube-apiserver, 100 simulated hosts, the operator as its own process.
# Prints create->Scheduled latency (p50/p99) at a steady creation rate, sustained throughput and
# operator RSS with 10,000 VMs. Knobs: RATE (100), TIMED_VMS (2000), TOTAL_VMS (10000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true -pl operator -am
cp_file=$(mktemp)
(cd operator && mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null)
main_cp="$(cat "$cp_file"):$VMCTL_ROOT/operator/target/classes"
op_cp="$main_cp"
java -Dvmctl.crds="$VMCTL_ROOT/crds" -Drate="${RATE:-100}" -DtimedVms="${TIMED_VMS:-2000}" \
  -DtotalVms="${TOTAL_VMS:-10000}" -DoperatorHeap="${OPERATOR_HEAP:--Xmx256m}" -DoperatorClasspath="$op_cp" \
  -cp "$main_cp:$VMCTL_ROOT/operator/target/test-classes" dev.vmctl.operator.bench.SchedulerBench
rm -f "$cp_file"
