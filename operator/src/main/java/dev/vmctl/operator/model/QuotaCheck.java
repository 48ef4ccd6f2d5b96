package dev.vmctl.operator.model;

import dev.vmctl.api.v1alpha1.Quota;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Pure quota arithmetic: would admitting one more VM exceed any Quota of its namespace? vCPUs count
 * as asked (the host's overcommit is no business of a quota), memory without the host's per-VM
 * overhead, disk as root and data volumes together.
 */
public final class QuotaCheck {
  private QuotaCheck() {}

  /** Use in a namespace: admitted VMs and their summed reservations. */
  public record Usage(int vms, Amounts amounts) {
    public static final Usage NONE = new Usage(0, Amounts.ZERO);

    public Usage plus(Amounts demand) {
      return new Usage(vms + 1, amounts.plus(demand));
    }

    public Usage minus(Amounts demand) {
      return new Usage(vms - 1, amounts.minus(demand));
    }
  }

  /** Empty when the VM fits every quota, otherwise a sentence naming each exceeded limit. */
  public static Optional<String> exceeded(List<Quota> quotas, Usage used, Amounts demand) {
    List<String> problems = new ArrayList<>();
    Usage after = used.plus(demand);
    for (Quota quota : quotas) {
      if (quota.getSpec() == null || quota.getSpec().hard == null) {
        continue;
      }
      Quota.Amounts hard = quota.getSpec().hard;
      String name = quota.getMetadata().getName();
      if (hard.vms != null && after.vms() > hard.vms) {
        problems.add(name + ": VMs " + used.vms() + " of " + hard.vms + " used");
      }
      if (hard.cpus != null && after.amounts().cpus() > hard.cpus) {
        problems.add(
            name
                + ": vCPUs need "
                + demand.cpus()
                + ", "
                + Math.max(0, hard.cpus - used.amounts().cpus())
                + " of "
                + hard.cpus
                + " left");
      }
      if (hard.memory != null && after.amounts().memory() > Amounts.bytes(hard.memory)) {
        long limit = Amounts.bytes(hard.memory);
        problems.add(
            name
                + ": memory need "
                + Amounts.human(demand.memory())
                + ", "
                + Amounts.human(Math.max(0, limit - used.amounts().memory()))
                + " of "
                + Amounts.human(limit)
                + " left");
      }
      if (hard.disk != null && after.amounts().storage() > Amounts.bytes(hard.disk)) {
        long limit = Amounts.bytes(hard.disk);
        problems.add(
            name
                + ": disk (root and data) need "
                + Amounts.human(demand.storage())
                + ", "
                + Amounts.human(Math.max(0, limit - used.amounts().storage()))
                + " of "
                + Amounts.human(limit)
                + " left");
      }
    }
    return problems.isEmpty()
        ? Optional.empty()
        : Optional.of("quota exceeded: " + String.join("; ", problems));
  }

  public static Quota.Amounts toStatus(Usage usage) {
    return new Quota.Amounts(
        usage.vms(),
        (int) usage.amounts().cpus(),
        Amounts.quantity(usage.amounts().memory()),
        Amounts.quantity(usage.amounts().storage()));
  }
}
