package dev.vmctl.node.host.cgroup;

import dev.vmctl.node.model.VmPlan;

/**
 * The limits of one VM's cgroup, computed purely from its plan (see docs/node-daemon.md, "VM
 * cgroups").
 *
 * @param memoryBytes the VM's memory at its largest ({@code maxMemory}, which a hot-plugging
 *     hypervisor can reach without a restart; equal to {@code memory} unless set) plus the per-VM
 *     overhead of the hypervisor and its helpers, rounded up to whole pages
 * @param cpuWeight cgroup v2 {@code cpu.weight}: 100 (the default of one cgroup) per boot vCPU
 * @param cpuShares cgroup v1 {@code cpu.shares}: 1024 (the default) per boot vCPU
 * @param pidsMax {@code pids.max}: a hypervisor that spawns without bound (a bug, or a guest
 *     driving its I/O thread pools) stops at this instead of exhausting the host's pids
 */
public record CgroupLimits(long memoryBytes, long cpuWeight, long cpuShares, long pidsMax) {
  static final long PAGE = 4096;

  /**
   * QEMU runs one thread per vCPU plus its main loop, RCU, I/O threads and thread pools of at most
   * 64 workers; vhost-device-vsock a few. 1024 leaves ample room for the largest VM (128 vCPUs).
   */
  static final long PIDS_MAX = 1024;

  public static CgroupLimits of(VmPlan plan, long overheadBytes) {
    long memory = Math.max(plan.memoryBytes(), plan.maxMemoryBytes()) + overheadBytes;
    long vcpus = Math.max(1, plan.cpus());
    return new CgroupLimits(
        (memory + PAGE - 1) / PAGE * PAGE,
        clamp(100 * vcpus, 1, 10_000), // cpu.weight's range
        clamp(1024 * vcpus, 2, 262_144), // cpu.shares' range
        PIDS_MAX);
  }

  private static long clamp(long v, long min, long max) {
    return Math.max(min, Math.min(max, v));
  }
}
