#!/usr/bin/env bash
# VMs outlive their node-daemon pod (issue 14), on the cluster of hack/cluster-up.sh:
#   1. two VMs run; each one's QEMU and vhost-device-vsock are in its own cgroup
#      <host cgroup root>/vmctl-cluster/<vm-id> (not the pod's), with the limits the spec asks for:
#      memory = spec.memory + VMCTL_VM_MEMORY_OVERHEAD (512Mi), CPU weight = 1024 x spec.cpus (v1;
#      both VMs have 1 vCPU: the host has 2 and vmctl does not overcommit)
#   2. the node-daemon pod is deleted: the same QEMU pids, the same guest boot ids, and the new
#      pod adopts the VMs (its log: "<ns>/<vm> configured (boot <the same boot id>)"; Running)
#   3. the same through a rolling update of the DaemonSet (an env var changes)
# Also prints the node-daemon pod's memory (its cgroup's usage and the JVM's RSS) with the two
# VMs running. Run by hack/test.sh after hack/journey.sh --cluster; needs the cluster up.
set -euo pipefail
source "$(dirname "$0")/cluster-lib.sh"
cd "$VMCTL_ROOT"
NS=user-me
VMS=(keep-a keep-b)
OVERHEAD_BYTES=$((512 * 1024 * 1024))
fail() { printf '\033[31mPOD-RESTART TEST FAILED: %s\033[0m\n' "$*" >&2; kctl -n vmctl-system get pods -o wide >&2; exit 1; }
cleanup() {
  kctl delete vm -n "$NS" "${VMS[@]}" --ignore-not-found --wait=true --timeout=180s >/dev/null 2>&1 || true
}
trap cleanup EXIT
T0=$(date +%s)

vm_id() { printf '%s' "$(kctl get vm -n "$NS" "$1" -o jsonpath='{.metadata.uid}')" | sha256sum | cut -c1-12; }
qemu_pid() { cat "$NODE_STATE/vms/$(vm_id "$1")/qemu.pid"; }
boot_id() { kctl get vm -n "$NS" "$1" -o jsonpath='{.status.guest.bootId}'; }
memory_cgroup() { echo "/sys/fs/cgroup/memory/vmctl-cluster/$(vm_id "$1")"; }
daemon_pod() { kctl -n vmctl-system get pod -l app.kubernetes.io/name=vmctl-node-daemon -o jsonpath='{.items[0].metadata.name}'; }

# Both fit a 2-CPU host (no CPU overcommit): 1 vCPU each; memory differs to check the limits.
MEMORY_MIB=(1024 768)
step "two VMs (1 GiB and 768 MiB)"
for i in 0 1; do
  cat <<VM | kctl apply -f - >/dev/null
apiVersion: vmctl.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: ${VMS[$i]}
  namespace: $NS
spec:
  image: debian-12
  owner: me
  cpus: 1
  memory: ${MEMORY_MIB[$i]}Mi
  disk: 2Gi
VM
done
kctl wait -n "$NS" --for=condition=Ready "vm/${VMS[0]}" "vm/${VMS[1]}" --timeout=900s >/dev/null
for vm in "${VMS[@]}"; do
  for _ in $(seq 1 120); do [[ -n "$(boot_id "$vm")" ]] && break; sleep 1; done
  [[ -n "$(boot_id "$vm")" ]] || fail "$vm reports no guest boot id"
done

step "each VM's processes are in its own cgroup, with the spec's limits"
for i in 0 1; do
  vm=${VMS[$i]}
  cg=$(memory_cgroup "$vm")
  [[ -d "$cg" ]] || fail "no memory cgroup $cg for $vm"
  pid=$(qemu_pid "$vm")
  vsock=$(cat "$NODE_STATE/vms/$(vm_id "$vm")/vhost.pid")
  grep -qx "$pid" "$cg/cgroup.procs" || fail "QEMU $pid of $vm is not in $cg"
  grep -qx "$vsock" "$cg/cgroup.procs" || fail "vhost-device-vsock $vsock of $vm is not in $cg"
  grep -q kubepods "/proc/$pid/cgroup" && fail "QEMU $pid of $vm is still in a pod's cgroup: $(grep memory "/proc/$pid/cgroup")"
  limit=$(cat "$cg/memory.limit_in_bytes")
  [[ $limit == $((MEMORY_MIB[i] * 1024 * 1024 + OVERHEAD_BYTES)) ]] || fail "$vm memory limit $limit, expected ${MEMORY_MIB[$i]}Mi + 512Mi"
  shares=$(cat "/sys/fs/cgroup/cpu/vmctl-cluster/$(vm_id "$vm")/cpu.shares")
  [[ $shares == 1024 ]] || fail "$vm cpu.shares $shares, expected 1024 (1 vCPU)"
  echo "  $vm: QEMU $pid and vhost-device-vsock $vsock in vmctl-cluster/$(vm_id "$vm"); memory.limit_in_bytes $limit, cpu.shares $shares" >&2
done

pod=$(daemon_pod)
pod_uid=$(kctl -n vmctl-system get pod "$pod" -o jsonpath='{.metadata.uid}')
pod_cg=$(find /sys/fs/cgroup/memory/kubepods -maxdepth 2 -type d -name "pod$pod_uid" | head -1)
[[ -n "$pod_cg" ]] || fail "no memory cgroup for pod $pod"
java_pid=$(cat "$pod_cg"/*/cgroup.procs 2>/dev/null | while read -r p; do if grep -q java "/proc/$p/comm" 2>/dev/null; then echo "$p"; fi; done | head -1)
echo "node-daemon pod with two VMs running: pod cgroup usage $(( $(cat "$pod_cg/memory.usage_in_bytes") / 1048576 )) MiB (limit $(( $(cat "$pod_cg/memory.limit_in_bytes") / 1048576 )) MiB), JVM RSS $(( $(awk '/VmRSS/ {print $2}' "/proc/$java_pid/status") / 1024 )) MiB" >&2

# survives WHAT ACTION...: the action replaces the node-daemon pod; the VMs must not notice.
survives() {
  local what=$1
  shift
  local before_pods=() before_boots=() old new
  for vm in "${VMS[@]}"; do before_pods+=("$(qemu_pid "$vm")"); before_boots+=("$(boot_id "$vm")"); done
  old=$(daemon_pod)
  step "$what"
  "$@"
  for _ in $(seq 1 240); do
    new=$(daemon_pod 2>/dev/null || true)
    [[ -n "$new" && "$new" != "$old" ]] && break
    sleep 0.5
  done
  [[ "$new" != "$old" ]] || fail "$what: no new node-daemon pod"
  kctl -n vmctl-system wait --for=condition=Ready "pod/$new" --timeout=300s >/dev/null || fail "$what: $new not Ready"
  for i in 0 1; do
    vm=${VMS[$i]}
    [[ "$(qemu_pid "$vm")" == "${before_pods[$i]}" ]] || fail "$what: $vm has QEMU $(qemu_pid "$vm"), was ${before_pods[$i]}"
    kill -0 "${before_pods[$i]}" || fail "$what: QEMU ${before_pods[$i]} of $vm is gone"
    # Adopted: the new pod configures the running guest (through its agent), the same boot.
    # (The log is read whole: grep -q would close the pipe early, which pipefail counts.)
    adopted="$NS/$vm configured (boot ${before_boots[$i]})"
    for _ in $(seq 1 180); do
      [[ "$(kctl -n vmctl-system logs "pod/$new" 2>/dev/null)" == *"$adopted"* ]] && break
      sleep 1
    done
    [[ "$(kctl -n vmctl-system logs "pod/$new")" == *"$adopted"* ]] \
      || fail "$what: $new did not adopt $vm (no '$adopted' in its log)"
    [[ "$(boot_id "$vm")" == "${before_boots[$i]}" ]] || fail "$what: $vm rebooted (boot id $(boot_id "$vm"), was ${before_boots[$i]})"
    [[ "$(kctl get vm -n "$NS" "$vm" -o jsonpath='{.status.phase}')" == Running ]] || fail "$what: $vm is not Running"
    echo "  $vm: same QEMU ${before_pods[$i]}, same boot ${before_boots[$i]}, adopted by $new" >&2
  done
}
survives "deleting the node-daemon pod $(daemon_pod)" \
  kctl -n vmctl-system delete pod "$(daemon_pod)" --wait=false
roll=$(date +%s)
survives "a rolling update of the DaemonSet (VMCTL_TEST_ROLL=$roll)" \
  kctl -n vmctl-system set env ds/vmctl-node-daemon "VMCTL_TEST_ROLL=$roll"
kctl -n vmctl-system rollout status ds/vmctl-node-daemon --timeout=300s >/dev/null

step "deleting the VMs: their cgroups go"
ids=("$(vm_id "${VMS[0]}")" "$(vm_id "${VMS[1]}")")
kctl delete vm -n "$NS" "${VMS[@]}" --wait=true --timeout=300s >/dev/null
for id in "${ids[@]}"; do
  for _ in $(seq 1 60); do [[ -d "/sys/fs/cgroup/memory/vmctl-cluster/$id" ]] || break; sleep 1; done
  [[ -d "/sys/fs/cgroup/memory/vmctl-cluster/$id" ]] && fail "cgroup vmctl-cluster/$id is left after its VM was deleted"
done
printf '\033[32mpod-restart tests passed\033[0m (%d s)\n' $(( $(date +%s) - T0 ))
