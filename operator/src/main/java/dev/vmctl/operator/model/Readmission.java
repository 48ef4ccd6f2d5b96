package dev.vmctl.operator.model;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Pure: whether a stopped VM, which keeps only its disks on its host, may have CPU and memory again
 * (issue 15). Its data volume lives on that host, so it is that host or nothing: the host needs
 * room for its vCPUs and its memory plus the host's per-VM overhead, and its namespace's quotas
 * room for its vCPUs and memory. Otherwise it waits with Scheduled=False (InsufficientResources or
 * QuotaExceeded) and a sentence naming what is short, and is admitted when room frees.
 */
public final class Readmission {
  private Readmission() {}

  /** Grant {@code granted}, or wait for the reason and message given. */
  public record Decision(Amounts granted, Optional<String> reason, String message) {
    public boolean admitted() {
      return reason.isEmpty();
    }
  }

  /**
   * @param kept what the VM holds now (its disks)
   * @param asked what its spec asks for (Demand)
   * @param usage the namespace's reservations, this VM's disks included
   * @param hostUsed everything taken on the host ({@link Placement#used}), this VM's disks included
   */
  public static Decision decide(
      Amounts kept,
      Amounts asked,
      List<Quota> quotas,
      QuotaCheck.Usage usage,
      HostView host,
      Amounts hostUsed) {
    Optional<String> quota = QuotaCheck.exceeded(quotas, usage.minus(kept), asked);
    if (quota.isPresent()) {
      return new Decision(
          kept,
          Optional.of(Reasons.QUOTA_EXCEEDED),
          "Waiting to start: " + quota.get() + ". It starts when the quota has room.");
    }
    Amounts room = host.allocatable().minus(hostUsed).plus(kept);
    Amounts need = host.onHost(asked);
    if (!need.fitsIn(room)) {
      return new Decision(
          kept,
          Optional.of(Reasons.INSUFFICIENT_RESOURCES),
          "Waiting to start: host "
              + host.name()
              + ", where its disks are, has "
              + shortfall(need, room)
              + ". It starts when room frees there.");
    }
    return new Decision(
        asked,
        Optional.empty(),
        "Admitted again on host " + host.name() + " with " + Resize.describe(asked) + ".");
  }

  /** What is short, e.g. "0 vCPUs free, 1 needed" (each short resource, in a fixed order). */
  private static String shortfall(Amounts need, Amounts room) {
    StringBuilder s = new StringBuilder();
    if (need.cpus() > room.cpus()) {
      s.append(Math.max(0, room.cpus())).append(" vCPUs free, ").append(need.cpus());
      s.append(" needed");
    }
    if (need.memory() > room.memory()) {
      if (!s.isEmpty()) {
        s.append("; ");
      }
      s.append(Amounts.human(Math.max(0, room.memory()))).append(" memory free, ");
      s.append(Amounts.human(need.memory())).append(" needed (overhead included)");
    }
    if (need.storage() > room.storage()) {
      if (!s.isEmpty()) {
        s.append("; ");
      }
      s.append(Amounts.human(Math.max(0, room.storage()))).append(" disk free, ");
      s.append(Amounts.human(need.storage())).append(" needed");
    }
    return s.toString();
  }

  /**
   * Writes the decision into {@code status}: admitted, {@code allocated} grows back and
   * Scheduled=True (Admitted); waiting, Scheduled=False with the reason and message. Returns
   * whether a wait is news (a reason or message the condition did not carry yet): one Warning Event
   * each.
   */
  public static boolean applyTo(
      VirtualMachine vm, VirtualMachineStatus status, Decision decision, Instant now) {
    Long generation = vm.getMetadata().getGeneration();
    String reason = decision.reason().orElse(Reasons.ADMITTED);
    boolean news =
        !Conditions.find(status.conditions, ConditionTypes.SCHEDULED)
            .map(c -> reason.equals(c.getReason()) && decision.message().equals(c.getMessage()))
            .orElse(false);
    if (decision.admitted()) {
      status.allocated = Demand.toResource(decision.granted());
    }
    status.conditions =
        Conditions.set(
            status.conditions,
            ConditionTypes.SCHEDULED,
            decision.admitted(),
            reason,
            decision.message(),
            generation,
            now);
    return news && !decision.admitted();
  }

  /**
   * A stopped VM gives back its CPU and memory: {@code allocated} keeps only the disks. The
   * Scheduled condition says so (it stays True: the VM keeps its host).
   */
  public static void release(
      VirtualMachine vm, VirtualMachineStatus status, Amounts granted, Instant now) {
    status.allocated = Demand.toResource(granted.disksOnly());
    status.conditions =
        Conditions.set(
            status.conditions,
            ConditionTypes.SCHEDULED,
            true,
            Reasons.RELEASED,
            "Stopped: its vCPUs and memory are released; it keeps host "
                + status.nodeName
                + ", its address and its disks.",
            vm.getMetadata().getGeneration(),
            now);
  }
}
