package dev.vmctl.operator.model;

import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;

/**
 * What a VM reserves on its host and in its quota: its maximums, so resizing never overcommits, and
 * both volumes (data {@code disk}, root {@code rootDisk}). A stopped VM keeps only its disks
 * ({@link Amounts#disksOnly}); in {@code status.allocated} that is cpus and memory left out.
 */
public final class Demand {
  private Demand() {}

  public static Amounts of(VirtualMachineSpec spec) {
    int cpus = spec.cpus == null ? 1 : spec.cpus;
    int maxCpus = spec.maxCpus == null ? cpus : Math.max(cpus, spec.maxCpus);
    long memory = Amounts.bytes(spec.memory == null ? "1Gi" : spec.memory);
    long maxMemory =
        spec.maxMemory == null ? memory : Math.max(memory, Amounts.bytes(spec.maxMemory));
    long disk = Amounts.bytes(spec.disk == null ? "10Gi" : spec.disk);
    long rootDisk = Amounts.bytes(spec.rootDisk == null ? "10Gi" : spec.rootDisk);
    return new Amounts(maxCpus, maxMemory, disk, rootDisk);
  }

  public static Amounts of(ResourceAmounts amounts) {
    if (amounts == null) {
      return Amounts.ZERO;
    }
    return new Amounts(
        amounts.cpus == null ? 0 : amounts.cpus,
        Amounts.bytes(amounts.memory),
        Amounts.bytes(amounts.disk),
        Amounts.bytes(amounts.rootDisk));
  }

  /**
   * A VM's {@code status.allocated}: cpus and memory only while granted (the node daemon starts
   * nothing without them), the data volume as {@code disk}, the root volume as {@code rootDisk}.
   */
  public static ResourceAmounts toResource(Amounts amounts) {
    ResourceAmounts r =
        new ResourceAmounts(
            amounts.cpus() > 0 ? (int) amounts.cpus() : null,
            amounts.memory() > 0 ? Amounts.quantity(amounts.memory()) : null,
            Amounts.quantity(amounts.disk()));
    r.rootDisk = amounts.rootDisk() > 0 ? Amounts.quantity(amounts.rootDisk()) : null;
    return r;
  }
}
