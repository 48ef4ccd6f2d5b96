#!/usr/bin/env bash
# Guest boot benchmark (as root; not a test): boots the base image under QEMU the way the node
# daemon does (microvm, the same kernel command line and devices, software emulation unless
# VMCTL_KVM=true), with the host's hand-over done first (an Ed25519 host key written into the root
# volume with debugfs, the root volume grown to 10 GiB, a data volume formatted with
# root_owner=1000:1000), and reads systemd's own timestamps from inside the guest over the agent:
#   kernel  = kernel start -> systemd (PID 1) starts (includes the initramfs)
#   sshd    = systemd starts -> ssh.service active (Type=notify: sshd is listening)
#   agent   = systemd starts -> the guest agent logs "listening" (the node daemon can configure)
#   ready   = systemd starts -> vmctl-ready.service printed the boot token on the console (sshd
#             listens, the seeded address is on the NIC, /data is mounted: what makes a VM Running)
#   booted  = systemd starts -> the boot job queue is empty (systemd-analyze's "userspace")
# and, from the host's clock, QEMU's launch -> the token on the console (decision 29's SSH-ready),
# and, once, `systemd-analyze blame` and `critical-chain ssh.service`. Median and spread of RUNS
# boots (default 5). Usage: hack/bench-boot.sh [RUNS]
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
RUNS=${1:-5}
KERNEL_DIR="$(bash hack/guest-kernel.sh | tail -1)"
IMAGE="${VMCTL_GUEST_IMAGE:-$(bash hack/build-image.sh | tail -1)}"
VHOST="${VMCTL_VHOST_VSOCK:-$(bash hack/guest-tools.sh | tail -1)}"
KVM=${VMCTL_KVM:-false}
work=$(mktemp -d /tmp/vmctl-bench-boot.XXXX)
qemu_pid="" vhost_pid=""
stop_vm() {
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && while kill -0 "$qemu_pid" 2>/dev/null; do sleep 0.1; done
  [[ -n $vhost_pid ]] && kill "$vhost_pid" 2>/dev/null
  qemu_pid="" vhost_pid=""
}
cleanup() { stop_vm; rm -rf "$work"; }
trap cleanup EXIT

# The guest agent's frame protocol over the hybrid-vsock socket (docs/guest-agent.md).
agent() {
  python3 - "$@" <<'PY'
import base64, json, socket, struct, sys, time
path, deadline = sys.argv[1], time.time() + float(sys.argv[2])
argv = sys.argv[3:]
def frame(s, obj):
    body = json.dumps(obj).encode(); s.sendall(struct.pack(">I", len(body)) + body)
def read(s):
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk: raise EOFError
        head += chunk
    n, body = struct.unpack(">I", head)[0], b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk: raise EOFError
        body += chunk
    return json.loads(body)
while True:
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(path)
        s.sendall(b"CONNECT 1024\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(1)
            if not chunk: raise EOFError
            line += chunk
        if not line.startswith(b"OK"): raise EOFError
        s.settimeout(120)
        frame(s, {"id": 1, "op": "exec", "args": {"argv": argv, "timeoutSeconds": 110}})
        while True:
            m = read(s)
            if "stream" in m:
                (sys.stdout if m["stream"] == "stdout" else sys.stderr).buffer.write(base64.b64decode(m["data"]))
            elif m.get("ok"):
                sys.stdout.flush(); sys.exit(m["result"]["exitCode"])
            else:
                sys.exit("agent: " + json.dumps(m))
    except (OSError, EOFError):
        if time.time() > deadline: sys.exit("the guest agent did not answer in time")
        time.sleep(0.2)
PY
}

boot() {
  local run=$1 dir="$work/run-$1"
  mkdir -p "$dir"
  cp --sparse=always "$IMAGE" "$dir/root.img"
  truncate -s 10G "$dir/root.img" # the host grows the volume; the guest grows its filesystem
  truncate -s 1G "$dir/data.img"
  mkfs.ext4 -q -F -L vmctl-data -E root_owner=1000:1000 "$dir/data.img"
  # The node daemon's hand-over (HostKeysStep, DebugfsRootFiles): a key made on the host, written
  # into the unmounted root filesystem.
  local t0 t1
  ssh-keygen -q -t ed25519 -N "" -C "" -f "$dir/ssh_host_ed25519_key"
  # The boot's seed (GuestSeedStep): QEMU user networking's NIC and address, and a fresh token.
  token=$(openssl rand -hex 16)
  printf 'MAC=52:54:00:12:34:56\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nMTU=1500\n' >"$dir/seed-network"
  echo "$token" >"$dir/seed-boot"
  # VMCTL_BENCH_HANDOVER=false: no key from the host (an image from before issue 15, for comparison).
  if [[ ${VMCTL_BENCH_HANDOVER:-true} == true ]]; then
  t0=$(date +%s%N)
  e2fsck -p -E journal_only "$dir/root.img" >/dev/null
  debugfs -w -f - "$dir/root.img" >/dev/null 2>&1 <<CMD
cd /etc/ssh
write $dir/ssh_host_ed25519_key ssh_host_ed25519_key
sif ssh_host_ed25519_key mode 0100600
write $dir/ssh_host_ed25519_key.pub ssh_host_ed25519_key.pub
sif ssh_host_ed25519_key.pub mode 0100644
cd /etc/vmctl/seed
write $dir/seed-network network
write $dir/seed-boot boot
CMD
  t1=$(date +%s%N)
  handover_ms+=("$(( (t1 - t0) / 1000000 ))")
  fi
  "$VHOST" --vm guest-cid=$((100 + run)),socket="$dir/vhost.sock",uds-path="$dir/vsock.sock" >"$dir/vhost.log" 2>&1 &
  vhost_pid=$!
  while [[ ! -S $dir/vhost.sock ]]; do sleep 0.05; done
  local accel="tcg,tb-size=256" cpu=${VMCTL_BENCH_CPU:-max} append="console=ttyS0 root=/dev/vda rw panic=-1 quiet tsc_early_khz=2600000"
  if [[ $KVM == true ]]; then accel=kvm cpu=host append="console=ttyS0 root=/dev/vda rw panic=-1 quiet"; fi
  # VMCTL_BENCH_VERBOSE=true: systemd's and the units' messages on the console (printed on failure).
  if [[ ${VMCTL_BENCH_VERBOSE:-false} == true ]]; then append="${append/ quiet/} systemd.journald.forward_to_console=1"; fi
  local launched; launched=$(date +%s%N)
  qemu-system-x86_64 -name "vmctl-bench-boot-$run" -daemonize -pidfile "$dir/qemu.pid" \
    -M microvm,rtc=on,memory-backend=mem -accel "$accel" -cpu "$cpu" -smp 1 -m 512M \
    -object memory-backend-memfd,id=mem,size=512M,share=on -nodefaults -no-user-config \
    -display none -serial "file:$dir/console.log" \
    -kernel "$KERNEL_DIR/vmlinux" -initrd "$KERNEL_DIR/initramfs.cpio.gz" -append "$append" \
    -drive id=root,file="$dir/root.img",format=raw,if=none,discard=unmap -device virtio-blk-device,drive=root \
    -drive id=data,file="$dir/data.img",format=raw,if=none,discard=unmap -device virtio-blk-device,drive=data \
    -netdev user,id=net0,restrict=on -device virtio-net-device,netdev=net0 \
    -chardev socket,id=vsock,path="$dir/vhost.sock" -device vhost-user-vsock-device,chardev=vsock \
    -device virtio-rng-device
  qemu_pid=$(cat "$dir/qemu.pid")
  if [[ ${VMCTL_BENCH_HANDOVER:-true} == true ]]; then
    # What the node daemon looks for (host/ConsoleLog), polled the way a pass would see it.
    until grep -q "vmctl-ready $token" "$dir/console.log" 2>/dev/null; do
      (( ($(date +%s%N) - launched) / 1000000000 < 240 )) || { echo "run $run: no ready line on the console" >&2; tail -40 "$dir/console.log" >&2; exit 1; }
      sleep 0.05
    done
    hv_ready+=("$(( ($(date +%s%N) - launched) / 1000000 ))")
  fi
  # Wait for the boot to finish (every start job done), then read the timestamps.
  trap 'echo "run $run failed; its console:" >&2; tail -80 "$dir/console.log" >&2' ERR
  agent "$dir/vsock.sock" 240 sh -c 'until systemctl is-system-running 2>/dev/null | grep -qvx "starting\|initializing"; do sleep 0.2; done' >/dev/null
  agent "$dir/vsock.sock" 30 sh -c '
    get() { systemctl show "$@" --value; }
    u=$(get -p UserspaceTimestampMonotonic); f=$(get -p FinishTimestampMonotonic)
    s=$(get ssh.service -p ActiveEnterTimestampMonotonic)
    r=$(get vmctl-ready.service -p ActiveEnterTimestampMonotonic)
    a=$(journalctl -b -u vmctl-agent -o short-monotonic --no-pager | grep -m1 "listening on" | sed "s/^\[ *\([0-9]*\)\.\([0-9]*\)\].*/\1\2/")
    echo "kernel_ms=$((u / 1000)) sshd_ms=$(((s - u) / 1000)) agent_ms=$(((a - u) / 1000)) ready_ms=$(((r - u) / 1000)) booted_ms=$(((f - u) / 1000))"
    echo "failed=$(systemctl --failed --no-legend --plain | awk "{print \$1}" | paste -sd, -)"
    echo "fallback_ran=$(get vmctl-hostkey-fallback.service -p ConditionResult | sed "s/yes/RAN/;s/no/no/")"
    echo "served=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2)"
    echo "seeded=$(ip -o -4 addr show | grep -c " inet 10.0.2.15/24 ") hostname=$(hostname)"
    echo "root=$(df -B1M --output=size / | tail -1 | tr -d " ")MiB data_owner=$(stat -c %U /data) nologin=$(test -e /run/nologin && echo present || echo absent)"
  ' >"$dir/figures"
  cat "$dir/figures" >&2
  [[ ${VMCTL_BENCH_HANDOVER:-true} != true ]] || grep -q "served=$(ssh-keygen -lf "$dir/ssh_host_ed25519_key.pub" | cut -d' ' -f2)" "$dir/figures" ||
    { echo "the guest does not serve the host key written for it" >&2; exit 1; }
  if [[ $run == 1 ]]; then
    agent "$dir/vsock.sock" 60 sh -c 'systemd-analyze; echo; echo "systemd-analyze blame (top 15):"; systemd-analyze blame --no-pager | head -25; echo; echo "systemd-analyze critical-chain ssh.service:"; systemd-analyze critical-chain ssh.service --no-pager; echo; echo "critical-chain multi-user.target:"; systemd-analyze critical-chain --no-pager; echo; echo "local-fs.target waits for:"; systemctl list-dependencies --after --plain --no-pager local-fs.target | head -30' >"$work/analyze.txt" 2>&1 || true
  fi
  # shellcheck disable=SC1090
  source <(head -1 "$dir/figures" | tr ' ' '\n')
  kernel+=("$kernel_ms") sshd+=("$sshd_ms") agent_up+=("$agent_ms") booted+=("$booted_ms") ready+=("$ready_ms")
  stop_vm
  rm -rf "$dir"
}

stats() { # name values...: median, min-max
  local name=$1; shift
  sort -n <<<"$(printf '%s\n' "$@")" | awk -v name="$name" '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%-44s median %6d ms  (min %d, max %d, n=%d)\n", name, m, v[1], v[NR], NR }'
}

kernel=() sshd=() agent_up=() booted=() handover_ms=() ready=() hv_ready=()
echo "bench-boot: $RUNS boots of $(basename "$IMAGE"), accel $([[ $KVM == true ]] && echo kvm || echo tcg), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq 1 "$RUNS"); do boot "$i"; done
echo
cat "$work/analyze.txt"
echo
((${#handover_ms[@]})) && stats "host: key hand-over (e2fsck + debugfs)" "${handover_ms[@]}"
stats "guest: kernel start -> systemd" "${kernel[@]}"
stats "guest: userspace -> sshd listening" "${sshd[@]}"
stats "guest: userspace -> agent listening" "${agent_up[@]}"
stats "guest: userspace -> boot finished" "${booted[@]}"
if ((${#hv_ready[@]})); then
  stats "guest: userspace -> ready line (SSH-ready)" "${ready[@]}"
  stats "host: QEMU launch -> ready line on the console" "${hv_ready[@]}"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
