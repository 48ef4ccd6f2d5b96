#!/usr/bin/env bash
# HTTPS gateway benchmark: the gateway and nginx (Debian's package) each terminate TLS and proxy
# small responses to the same backend over keep-alive; wrk measures both in one run and prints
# requests/s, p50 and p99 per run and the ratio's median (min-max) over the runs.
# Knobs: RUNS (3), SECONDS_PER_TARGET (15), CONNECTIONS (50), THREADS (2).
# Needs nginx, wrk, openssl and the kube-apiserver binaries (the gateway reads routes from it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_KUBE_BINARIES="${VMCTL_KUBE_BINARIES:-$(kube_binaries)}"
export VMCTL_KUBE_BINARIES
for tool in nginx wrk openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx-light wrk openssl" >&2; exit 1; }
done
cp_file=$(mktemp)
# Reactor build (no install): sibling modules resolve to their target/classes.
mvn -B -q -ntp -o -pl https-gateway -am test-compile dependency:build-classpath \
  -Dspotless.check.skip=true -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
cp="$(cat "$cp_file"):$VMCTL_ROOT/https-gateway/target/classes:$VMCTL_ROOT/https-gateway/target/test-classes"
rm -f "$cp_file"
java -Dvmctl.crds="$VMCTL_ROOT/crds" -Druns="${RUNS:-3}" -Dseconds="${SECONDS_PER_TARGET:-15}" \
  -Dconnections="${CONNECTIONS:-50}" -Dthreads="${THREADS:-2}" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$cp" dev.vmctl.https.bench.HttpsGatewayBench
