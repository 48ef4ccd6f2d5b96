package dev.vmctl.operator.model;

import dev.vmctl.api.v1alpha1.Quota;
import java.util.List;
import java.util.Optional;

/**
 * Pure: whether a scheduled VM's new size may be granted. A VM reserves its maximums (Demand); a
 * spec that asks for more than is reserved must fit the namespace's quotas and the room left on its
 * host, like a new VM would. A smaller or equal size is always granted. Until a growth is granted,
 * the node daemon keeps running the VM at the granted size ({@code status.allocated}).
 */
public final class Resize {
  private Resize() {}

  /** The reservation to hold, and why the asked size was refused (empty when it was granted). */
  public record Decision(Amounts granted, Optional<String> refusal) {
    public boolean changed(Amounts before) {
      return !granted.equals(before);
    }
  }

  /**
   * @param granted what the VM holds now ({@code status.allocated})
   * @param asked what its spec asks for now
   * @param usage the namespace's reservations, this VM's included
   * @param hostAllocatable the host's allocatable resources
   * @param hostAllocated everything reserved on the host, this VM's included
   */
  public static Decision decide(
      Amounts granted,
      Amounts asked,
      List<Quota> quotas,
      QuotaCheck.Usage usage,
      String host,
      Amounts hostAllocatable,
      Amounts hostAllocated) {
    if (asked.fitsIn(granted)) {
      return new Decision(asked, Optional.empty());
    }
    Optional<String> quota = QuotaCheck.exceeded(quotas, usage.minus(granted), asked);
    if (quota.isPresent()) {
      return new Decision(
          granted, Optional.of("The new size exceeds the quota (" + quota.get() + ")."));
    }
    Amounts room = hostAllocatable.minus(hostAllocated).plus(granted);
    if (!asked.fitsIn(room)) {
      return new Decision(
          granted,
          Optional.of(
              "Host "
                  + host
                  + " has room for "
                  + describe(room)
                  + " for this VM; the spec asks for "
                  + describe(asked)
                  + "."));
    }
    return new Decision(asked, Optional.empty());
  }

  public static String describe(Amounts a) {
    return a.cpus()
        + " CPUs, "
        + Amounts.human(a.memory())
        + " memory and "
        + Amounts.human(a.disk())
        + " disk";
  }
}
