package dev.vmctl.api.status;

import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.util.Map;

/**
 * The one rule the operator and the node daemon share about CPU and memory (issue 15): a VM runs
 * only on a grant, {@code status.allocated} with cpus and memory, which the operator gives on
 * placement and takes back once the VM is stopped for good (Halted, or a guest that powered off
 * under RerunOnFailure). A stopped VM keeps its host, address and disks ({@code allocated.disk},
 * {@code rootDisk}); when its spec asks it to run again, the operator grants CPU and memory anew on
 * that host, and until it does the node daemon does not start it.
 */
public final class Admission {
  private Admission() {}

  /** Whether the operator granted CPU and memory: the node daemon may start the VM. */
  public static boolean granted(VirtualMachineStatus status) {
    ResourceAmounts a = status == null ? null : status.allocated;
    return a != null && a.cpus != null && a.cpus > 0 && a.memory != null;
  }

  /**
   * Whether the spec lets the VM stay stopped: runStrategy Halted, or a guest that powered itself
   * off under RerunOnFailure and no restart asked since (the restartedAt annotation).
   */
  public static boolean staysOff(VirtualMachine vm) {
    RunStrategy strategy = vm.getSpec() == null ? null : vm.getSpec().runStrategy;
    if (strategy == RunStrategy.Halted) {
      return true;
    }
    VirtualMachineStatus status = vm.getStatus();
    return strategy == RunStrategy.RerunOnFailure
        && status != null
        && status.phase == VmPhase.Stopped
        && Conditions.sameReason(status.conditions, ConditionTypes.READY, Reasons.GUEST_POWERED_OFF)
        && !restartRequested(vm);
  }

  /** Stopped for good: the node daemon reports it stopped and the spec lets it stay so. */
  public static boolean releasable(VirtualMachine vm) {
    return vm.getStatus() != null && vm.getStatus().phase == VmPhase.Stopped && staysOff(vm);
  }

  /** A restartedAt annotation the node daemon has not acted on yet. */
  public static boolean restartRequested(VirtualMachine vm) {
    Map<String, String> a = vm.getMetadata().getAnnotations();
    String requested = a == null ? null : a.get(VirtualMachine.RESTARTED_AT_ANNOTATION);
    String done = vm.getStatus() == null ? null : vm.getStatus().restartedAt;
    return requested != null && !requested.equals(done);
  }
}
