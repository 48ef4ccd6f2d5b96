#!/usr/bin/env bash
# By-hand check (not CI): what bookworm's QEMU 7.2 does with a memory snapshot of a vmctl guest.
# Boots the real base image under TCG twice, as the node daemon does (microvm, memfd memory):
#  1. with vhost-user-vsock (the agent's channel today): `migrate` must be refused (blocker);
#  2. without it: stop, `migrate` to a file, quit, start a new QEMU with `-incoming`, `cont`.
# Prints the refusal, the memory file's size and the save / restore times. docs/snapshots.md
# records what it printed (2026-12-02).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
KERNEL_DIR=$(bash "$VMCTL_ROOT/hack/guest-kernel.sh" | tail -1)
IMAGE=$(bash "$VMCTL_ROOT/hack/build-image.sh" | tail -1)
VHOST=$(bash "$VMCTL_ROOT/hack/guest-tools.sh" | tail -1)
MEM=${MEM:-512}
work=$(mktemp -d /var/tmp/vmctl-snapcheck.XXXXXX)
trap 'pkill -F "$work/q.pid" 2>/dev/null || true; pkill -f "socket=$work/vhost.sock" || true; rm -rf "$work"' EXIT
cp --sparse=always "$IMAGE" "$work/root.img"

qmp() { # qmp COMMAND [JSON-ARGS]: one QMP command, its reply on stdout
  python3 - "$work/qmp.sock" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
def cmd(c, a=None):
    f.write(json.dumps({"execute": c, **({"arguments": a} if a else {})}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
cmd("qmp_capabilities")
print(json.dumps(cmd(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)))
PY
}

qemu() { # qemu CONSOLE EXTRA-ARGS...
  local console=$1; shift
  qemu-system-x86_64 -daemonize -pidfile "$work/q.pid" \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    -M microvm,rtc=on,memory-backend=mem -accel tcg,tb-size=256 -cpu max -m "${MEM}M" \
    -object "memory-backend-memfd,id=mem,size=${MEM}M,share=on" \
    -nodefaults -no-user-config -display none -serial "file:$console" \
    -kernel "$KERNEL_DIR/vmlinux" -initrd "$KERNEL_DIR/initramfs.cpio.gz" \
    -append "console=ttyS0 root=/dev/vda rw panic=-1 quiet tsc_early_khz=2600000" \
    -drive "id=root,file=$work/root.img,format=raw,if=none" -device virtio-blk-device,drive=root \
    -device virtio-rng-device "$@"
}

booted() { # waits up to 90 s for systemd to reach its targets on the console
  for _ in $(seq 1 450); do
    grep -aq "login:\|Reached target\|vmctl" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "no boot line in $1" >&2
}

step "1. with vhost-user-vsock"
setsid "$VHOST" --vm "guest-cid=7,socket=$work/vhost.sock,uds-path=$work/vsock.sock" \
  >"$work/vhost.log" 2>&1 &
while [[ ! -S $work/vhost.sock ]]; do sleep 0.05; done
qemu "$work/console1.log" -chardev "socket,id=vsock,path=$work/vhost.sock" \
  -device vhost-user-vsock-device,chardev=vsock
qmp stop
echo "migrate: $(qmp migrate '{"uri":"exec:cat > '"$work"'/mem1"}')"
qmp quit >/dev/null
sleep 0.5

step "2. without it: boot, save, restore"
qemu "$work/console2.log"
booted "$work/console2.log"
sleep 2
t0=$(date +%s%N)
qmp stop >/dev/null
qmp migrate '{"uri":"exec:cat > '"$work"'/mem2"}' >/dev/null
until qmp query-migrate | grep -q '"status": "completed"'; do sleep 0.05; done
t1=$(date +%s%N)
qmp quit >/dev/null
while pgrep -F "$work/q.pid" >/dev/null 2>&1; do sleep 0.05; done
echo "saved $(du -B1 --apparent-size "$work/mem2" | cut -f1) bytes (${MEM} MiB guest) in $(((t1 - t0) / 1000000)) ms"
t2=$(date +%s%N)
qemu "$work/console3.log" -incoming "exec:cat $work/mem2"
until qmp query-migrate | grep -q '"status": "completed"'; do sleep 0.02; done
qmp cont >/dev/null
t3=$(date +%s%N)
echo "restored and running in $(((t3 - t2) / 1000000)) ms: $(qmp query-status)"
