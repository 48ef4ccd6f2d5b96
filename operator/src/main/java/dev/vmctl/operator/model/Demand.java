package dev.vmctl.operator.model;

import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;

/** What a VM reserves on its host and in its quota: its maximums, so resizing never overcommits. */
public final class Demand {
  private Demand() {}

  public static Amounts of(VirtualMachineSpec spec) {
    int cpus = spec.cpus == null ? 1 : spec.cpus;
    int maxCpus = spec.maxCpus == null ? cpus : Math.max(cpus, spec.maxCpus);
    long memory = Amounts.bytes(spec.memory == null ? "1Gi" : spec.memory);
    long maxMemory =
        spec.maxMemory == null ? memory : Math.max(memory, Amounts.bytes(spec.maxMemory));
    long disk = Amounts.bytes(spec.disk == null ? "10Gi" : spec.disk);
    return new Amounts(maxCpus, maxMemory, disk);
  }

  public static Amounts of(ResourceAmounts amounts) {
    if (amounts == null) {
      return Amounts.ZERO;
    }
    return new Amounts(
        amounts.cpus == null ? 0 : amounts.cpus,
        Amounts.bytes(amounts.memory),
        Amounts.bytes(amounts.disk));
  }

  public static ResourceAmounts toResource(Amounts amounts) {
    return new ResourceAmounts(
        (int) amounts.cpus(), Amounts.quantity(amounts.memory()), Amounts.quantity(amounts.disk()));
  }
}
