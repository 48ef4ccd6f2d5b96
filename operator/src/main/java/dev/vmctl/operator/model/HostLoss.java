package dev.vmctl.operator.model;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Duration;
import java.time.Instant;

/**
 * Pure: what a host's loss or return means for one of its VMs, and when to look at the host again.
 * A lost host's VMs get phase Unknown and NodeLost=True; they are not moved, because their disks
 * are local to the host. When the host is back, NodeLost=False and the phase returns to the last
 * one before Unknown.
 */
public final class HostLoss {
  private HostLoss() {}

  /**
   * The VM's status given whether its host is lost; equal to the current one when nothing changes.
   * A VM being deleted is not marked lost (its deletion waits for the host anyway).
   */
  public static VirtualMachineStatus status(
      VirtualMachine vm, boolean hostLost, Duration grace, Instant now) {
    return lost(
        vm,
        hostLost,
        Reasons.HEARTBEAT_MISSED,
        "Host "
            + (vm.getStatus() == null ? null : vm.getStatus().nodeName)
            + " has not sent a heartbeat within "
            + grace.toSeconds()
            + "s.",
        now);
  }

  /** The VM's status when its Host object no longer exists: lost, with reason HostDeleted. */
  public static VirtualMachineStatus hostDeleted(VirtualMachine vm, Instant now) {
    return lost(
        vm,
        true,
        Reasons.HOST_DELETED,
        "Host " + vm.getStatus().nodeName + " does not exist any more.",
        now);
  }

  private static VirtualMachineStatus lost(
      VirtualMachine vm, boolean hostLost, String reason, String why, Instant now) {
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    Long generation = vm.getMetadata().getGeneration();
    if (hostLost && vm.getMetadata().getDeletionTimestamp() == null) {
      Phases.set(status, VmPhase.Unknown, now);
      status.conditions =
          Conditions.set(
              status.conditions,
              ConditionTypes.NODE_LOST,
              true,
              reason,
              why
                  + " The VM's disks are local to that host, so it is not moved; see"
                  + " docs/operations.md (host loss).",
              generation,
              now);
    } else if (!hostLost && Conditions.isTrue(status.conditions, ConditionTypes.NODE_LOST)) {
      status.conditions =
          Conditions.set(
              status.conditions,
              ConditionTypes.NODE_LOST,
              false,
              Reasons.HOST_RECOVERED,
              "Host " + status.nodeName + " is sending heartbeats again.",
              generation,
              now);
      if (status.phase == VmPhase.Unknown) {
        Phases.set(status, Phases.previous(status, VmPhase.Scheduled), now);
      }
    }
    return status;
  }

  /**
   * When to check the host again: just after its heartbeat would become stale if no new one came (a
   * new heartbeat is an event and checks it sooner), or, while it is lost, every quarter of the
   * grace period.
   */
  public static Duration recheckAfter(HostView host, Duration grace, Instant now) {
    Duration quarter = grace.dividedBy(4);
    if (!host.fresh(now, grace)) {
      return quarter;
    }
    Duration left = Duration.between(now, host.heartbeat().plus(grace));
    // Just past the deadline: fresh() still holds at the deadline itself.
    return left.plusMillis(100);
  }
}
