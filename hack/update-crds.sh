#!/usr/bin/env bash
# Regenerates crds/ from the Java types in api/ (fabric8's CRD generator, then printer columns
# put back in declaration order). The test command fails while crds/ is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl api -am test -Dtest=CrdsAreCurrentTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dvmctl.crds.update=true -Dspotless.check.skip=true
ls crds/
