#!/usr/bin/env bash
# Stops everything hack/local-up.sh started. State (etcd data, keys) is kept unless --purge.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
shopt -s nullglob
for pidfile in "$STATE"/run/*.pid; do
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    step "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
if [[ "${1:-}" == "--purge" ]]; then
  step "removing $STATE"
  rm -rf "$STATE"
fi
