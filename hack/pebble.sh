#!/usr/bin/env bash
# Provides Pebble (a small ACME test server from Let's Encrypt) and pebble-challtestsrv (its
# mock DNS / challenge server) for the HTTPS gateway's certificate tests. Both are built from the
# Go module proxy at one pinned version and cached in $VMCTL_CACHE/pebble/<version>/ (outside the
# repo); a second run only checks that they exist. Prints the directory on stdout as the last line.
set -euo pipefail

PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.1}"
CACHE="${VMCTL_CACHE:-$HOME/.cache/vmctl}"
OUT="$CACHE/pebble/$PEBBLE_VERSION"
log() { echo "[pebble] $*" >&2; }

if [[ -x "$OUT/pebble" && -x "$OUT/pebble-challtestsrv" && -f "$OUT/certs/localhost/cert.pem" ]]; then
  log "cached in $OUT"
  echo "$OUT"
  exit 0
fi
mkdir -p "$OUT"
export GOFLAGS=-mod=mod
export GOSUMDB="${GOSUMDB:-off}"
# `go install pkg@version` builds in module mode without a local go.mod.
log "go: building pebble and pebble-challtestsrv $PEBBLE_VERSION"
CGO_ENABLED=0 GOBIN="$OUT" go install -trimpath \
  "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
  "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION"
# Pebble's own HTTPS listener needs a certificate: its test one (for localhost, signed by the
# test minica that acme4j's PebbleAcmeProvider trusts) ships in the module source.
SRC="$(go env GOMODCACHE)/github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION/test/certs"
mkdir -p "$OUT/certs/localhost"
install -m 0644 "$SRC/pebble.minica.pem" "$OUT/certs/pebble.minica.pem"
install -m 0644 "$SRC/localhost/cert.pem" "$OUT/certs/localhost/cert.pem"
install -m 0600 "$SRC/localhost/key.pem" "$OUT/certs/localhost/key.pem"
log "ready in $OUT"
echo "$OUT"
