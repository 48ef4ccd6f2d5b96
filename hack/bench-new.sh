#!/usr/bin/env bash
# `new` -> SSH-ready through the gateway, on a platform that is already running (not a test):
#   hack/local-up.sh            # once, in another shell (or already up)
#   hack/bench-new.sh [RUNS]    # default 5 VMs, one after another
# Each run: `ssh gw new --name bench-<n>` (returns at Running), then `ssh -J gw vmctl@bench-<n>
# true` until it succeeds, with StrictHostKeyChecking=yes against the known_hosts lines `new`
# printed (so it also proves the VM serves the key in its status), then `rm`. Prints, per run and
# as median with spread: new -> Running (what `new` waits for) and new -> SSH-ready (the first
# successful login), and the guest's own `systemd-analyze` of the last VM.
# Environment as hack/journey.sh: VMCTL_STATE (~/.local/state/vmctl), VMCTL_SSH_PORT (2222).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
RUNS=${1:-5}
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
SSH_PORT="${VMCTL_SSH_PORT:-2222}"
JUMP_HOST="localhost:$SSH_PORT"
[[ -f $STATE/identity ]] || { echo "no platform state in $STATE: start hack/local-up.sh first" >&2; exit 1; }
(exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null || { echo "no SSH gateway on port $SSH_PORT: start hack/local-up.sh first" >&2; exit 1; }
IDENTITY="$(cat "$STATE/identity")"
WORK="$(mktemp -d /tmp/vmctl-bench-new-XXXXXX)"
current=""
finish() {
  [[ -n $current ]] && gw rm "$current" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap finish EXIT
# The gateway itself is not pinned here (its key is the platform's); each VM is, from `new`.
cat >"$WORK/ssh_config" <<CFG
Host localhost
  StrictHostKeyChecking accept-new
  UserKnownHostsFile $WORK/gateway_known_hosts
Host *
  IdentityFile $IDENTITY
  IdentitiesOnly yes
  StrictHostKeyChecking yes
  UserKnownHostsFile $WORK/known_hosts
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 20
CFG
gw() { ssh -F "$WORK/ssh_config" -p "$SSH_PORT" localhost "$@"; }
now_ms() { date +%s%3N; }

running=() ready=()
echo "bench-new: $RUNS VMs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq 1 "$RUNS"); do
  name="bench-$i-$RANDOM"
  current=$name
  t0=$(now_ms)
  gw new --name "$name" >"$WORK/new.out"
  t1=$(now_ms)
  # The known_hosts lines `new` printed (indented under "its SSH host key").
  grep -E "^  $name,[^ ]+ ssh-" "$WORK/new.out" | sed 's/^  //' >"$WORK/known_hosts" ||
    { cat "$WORK/new.out" >&2; echo "new printed no known_hosts line" >&2; exit 1; }
  until ssh -F "$WORK/ssh_config" -J "$JUMP_HOST" "vmctl@$name" true 2>"$WORK/ssh.err"; do
    if grep -q "HOST IDENTIFICATION HAS CHANGED\|Host key verification failed" "$WORK/ssh.err"; then
      cat "$WORK/ssh.err" >&2; echo "$name does not serve the host key in its status" >&2; exit 1
    fi
    (( $(now_ms) - t0 < 600000 )) || { echo "no SSH into $name within 10 minutes" >&2; exit 1; }
    sleep 0.2
  done
  t2=$(now_ms)
  running+=("$((t1 - t0))") ready+=("$((t2 - t0))")
  printf 'run %d: new -> Running %d ms, new -> SSH-ready %d ms\n' "$i" $((t1 - t0)) $((t2 - t0)) >&2
  if [[ $i == "$RUNS" ]]; then
    ssh -F "$WORK/ssh_config" -J "$JUMP_HOST" "vmctl@$name" \
      'sudo systemd-analyze; sudo systemd-analyze critical-chain ssh.service --no-pager' >"$WORK/analyze.txt" 2>&1 || true
  fi
  gw rm "$name" >/dev/null
  current=""
done
stats() {
  local name=$1; shift
  sort -n <<<"$(printf '%s\n' "$@")" | awk -v name="$name" '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%-26s median %6d ms  (min %d, max %d, n=%d)\n", name, m, v[1], v[NR], NR }'
}
echo
cat "$WORK/analyze.txt"
echo
stats "new -> Running" "${running[@]}"
stats "new -> SSH-ready" "${ready[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
