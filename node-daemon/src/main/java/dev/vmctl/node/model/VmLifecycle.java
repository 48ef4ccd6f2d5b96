package dev.vmctl.node.model;

import dev.vmctl.api.status.Admission;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * The node daemon's decisions about one VM, as pure functions: from the VM and what was measured on
 * the host, the intent of this pass. No I/O, no clock of its own: unit-tested without a host.
 *
 * <p>One rule comes from the operator (issue 15): nothing is started without a grant, {@code
 * status.allocated} with cpus and memory ({@link Admission#granted}). The operator takes the grant
 * back from a VM stopped for good and gives it again when the VM is to run and its host has room;
 * until then the VM stays stopped ({@link VmIntent.Power#AWAIT_ADMISSION}). A running VM is never
 * stopped for want of a grant: the operator releases only VMs that are stopped.
 */
public final class VmLifecycle {
  private VmLifecycle() {}

  /** Phases in which a missing hypervisor process is a crash (Failed: one already recorded). */
  private static final Set<VmPhase> UP = Set.of(VmPhase.Running, VmPhase.Paused, VmPhase.Failed);

  /** The longest crash backoff; crashes n = 1, 2, 3 … wait 1 s, 2 s, 4 s … up to this. */
  public static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

  /**
   * This pass's intent for {@code vm}, whose host-side plan (size bounded by what the operator
   * granted) is {@code plan}.
   */
  public static VmIntent decide(VirtualMachine vm, VmPlan plan, HostObservation host) {
    VirtualMachineStatus status =
        vm.getStatus() == null ? new VirtualMachineStatus() : vm.getStatus();
    boolean paused = Boolean.TRUE.equals(vm.getSpec().paused);
    if (!host.identityHeld()) {
      return of(VmIntent.Power.CLAIM_IDENTITY, paused);
    }
    if (vm.getSpec().runStrategy == RunStrategy.Halted) {
      return of(VmIntent.Power.HALT, paused);
    }
    String requested = annotation(vm, VirtualMachine.RESTARTED_AT_ANNOTATION);
    boolean newRequest = requested != null && !requested.equals(status.restartedAt);
    if (host.running() && (newRequest || status.phase == VmPhase.Stopping)) {
      // A stop under way (this daemon's or a previous one's) is finished before anything else.
      return new VmIntent(
          VmIntent.Power.RESTART,
          newRequest ? requested : null,
          newRequest,
          0,
          null,
          false,
          paused);
    }
    String record = newRequest ? requested : null; // not running: nothing to restart
    if (!host.running()) {
      boolean wasUp = UP.contains(status.phase);
      if (wasUp
          && host.poweredOffCleanly()
          && vm.getSpec().runStrategy == RunStrategy.RerunOnFailure) {
        return new VmIntent(VmIntent.Power.STAY_POWERED_OFF, record, false, 0, null, false, paused);
      }
      if (wasUp && status.phase != VmPhase.Failed) {
        int n = host.crashes() + 1;
        return new VmIntent(
            VmIntent.Power.RECORD_CRASH,
            record,
            false,
            n,
            host.lastStart().plus(backoff(n)),
            false,
            paused);
      }
      if (status.phase == VmPhase.Failed) {
        int n = Math.max(1, host.crashes());
        Instant notBefore = host.lastStart().plus(backoff(n));
        VmIntent.Power power =
            host.now().isBefore(notBefore) ? VmIntent.Power.BACK_OFF : VmIntent.Power.START;
        if (power == VmIntent.Power.START && !Admission.granted(status)) {
          return of(VmIntent.Power.AWAIT_ADMISSION, paused);
        }
        return new VmIntent(
            power, record, power == VmIntent.Power.START, n, notBefore, false, paused);
      }
      if (!Admission.granted(status)) {
        // Not recorded either: a restart asked for meanwhile is still to be done once granted.
        return of(
            Admission.staysOff(vm)
                ? VmIntent.Power.STAY_POWERED_OFF
                : VmIntent.Power.AWAIT_ADMISSION,
            paused);
      }
      return new VmIntent(VmIntent.Power.START, record, false, 0, null, false, paused);
    }
    boolean resize = host.bootedWith() != null && !host.bootedWith().equals(size(plan));
    return new VmIntent(VmIntent.Power.RUN, null, false, 0, null, resize, paused);
  }

  /** The backoff before restarting after crash {@code n}: 1 s, 2 s, 4 s, … at most 5 minutes. */
  public static Duration backoff(int n) {
    Duration d = Duration.ofSeconds(1L << Math.min(8, Math.max(0, n - 1)));
    return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
  }

  /** The size a VM boots with, as recorded per boot and shown in RestartRequired. */
  public static String size(VmPlan plan) {
    return plan.cpus() + " CPUs and " + (plan.memoryBytes() >> 20) + "Mi";
  }

  /**
   * The volume sizes a VM boots with. Grown volumes reach a running guest at its next boot (the
   * hypervisors here cannot grow a disk live), so a change shows as RestartRequired.
   */
  public static String disks(VmPlan plan) {
    return gib(plan.rootDiskBytes()) + " root and " + gib(plan.diskBytes()) + " data volumes";
  }

  private static String gib(long bytes) {
    return bytes % (1L << 30) == 0 ? (bytes >> 30) + "Gi" : (bytes >> 20) + "Mi";
  }

  private static VmIntent of(VmIntent.Power power, boolean paused) {
    return new VmIntent(power, null, false, 0, null, false, paused);
  }

  private static String annotation(VirtualMachine vm, String key) {
    Map<String, String> a = vm.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }
}
