package dev.vmctl.node.model;

/**
 * Pure: what this host offers VMs (issue 15). vCPUs are overcommitted, cores less the reserved
 * cores times the ratio in effect (the Host's {@code spec.cpuOvercommit}, else the cluster default
 * {@code VMCTL_CPU_OVERCOMMIT}); memory never is, capacity less the reserved memory. The scheduler
 * adds {@code vmMemoryOverhead} to each running VM's memory against it.
 *
 * @param cores logical CPUs of the host
 * @param reservedCores VMCTL_RESERVED_CPUS, kept for the host itself
 * @param cpuOvercommit the ratio in effect
 */
public record HostCapacity(int cores, int reservedCores, int cpuOvercommit) {

  /** The ratio in effect: the Host's own if set, else the cluster default. */
  public static int ratio(Integer hostSpec, int clusterDefault) {
    return hostSpec != null && hostSpec >= 1 ? hostSpec : clusterDefault;
  }

  /** vCPUs the scheduler may place here. */
  public int allocatableVcpus() {
    return Math.max(0, cores - reservedCores) * cpuOvercommit;
  }

  /** Memory VMs may reserve: never more than the host has, less what it keeps for itself. */
  public static long allocatableMemory(long memory, long reservedMemory) {
    return Math.max(0, memory - reservedMemory);
  }
}
