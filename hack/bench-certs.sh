#!/usr/bin/env bash
# Certificate benchmark (https-gateway): local CA start-up, per-handshake certificate lookup, and
# ACME issuance (HTTP-01 single name, DNS-01 wildcard) against a local Pebble. Prints figures.
# Knob: ISSUANCES (5). Builds with the reactor (no mvn install).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
VMCTL_PEBBLE="$(bash hack/pebble.sh | tail -1)"
export VMCTL_PEBBLE
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# In the reactor every module writes the file; https-gateway comes last, so it holds its classpath.
mvn -B -q -ntp -pl https-gateway -am test-compile dependency:build-classpath -Dspotless.check.skip=true \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
java -Dissuances="${ISSUANCES:-5}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$(cat "$cp_file"):$VMCTL_ROOT/https-gateway/target/classes:$VMCTL_ROOT/https-gateway/target/test-classes" \
  dev.vmctl.https.acme.CertificatesBench
