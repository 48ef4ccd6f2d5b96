package dev.vmctl.operator.model;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import java.time.Instant;
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
   * @param hostAllocated everything taken on the host (reservations and each running VM's memory
   *     overhead, {@link Placement#used}), this VM's included; a running VM keeps its overhead
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

  /**
   * Writes the decision into {@code status}: Resized=True with the new {@code allocated}, or
   * Resized=False saying why while {@code allocated} stays. Returns whether the refusal is news (a
   * message the condition did not carry yet), i.e. whether a Warning Event is due.
   */
  public static boolean applyTo(
      VirtualMachineStatus status,
      Decision decision,
      Amounts before,
      Long generation,
      Instant now) {
    if (decision.refusal().isPresent()) {
      String message =
          decision.refusal().get() + " The VM keeps running with " + describe(before) + ".";
      boolean news =
          !Conditions.find(status.conditions, ConditionTypes.RESIZED)
              .map(c -> message.equals(c.getMessage()))
              .orElse(false);
      status.conditions =
          Conditions.set(
              status.conditions,
              ConditionTypes.RESIZED,
              false,
              Reasons.RESIZE_REFUSED,
              message,
              generation,
              now);
      return news;
    }
    status.allocated = Demand.toResource(decision.granted());
    status.conditions =
        Conditions.set(
            status.conditions,
            ConditionTypes.RESIZED,
            true,
            Reasons.GRANTED,
            "The VM holds " + describe(decision.granted()) + ".",
            generation,
            now);
    return false;
  }

  public static String describe(Amounts a) {
    return a.cpus()
        + (a.cpus() == 1 ? " vCPU, " : " vCPUs, ")
        + Amounts.human(a.memory())
        + " memory and "
        + Amounts.human(a.storage())
        + " disk";
  }
}
