package dev.vmctl.node;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices a hypervisor that died between reconciles (issue 22: a killed QEMU showed Running and
 * Ready until the 15 s resync). Every period it measures the processes of the VMs that should be
 * up, cheaply (pid files and /proc for QEMU, the API socket for cloud-hypervisor), and asks for a
 * reconcile of each one that is gone, once per death. The hypervisors are not children of the
 * daemon (they outlive it), so waiting on them is not possible; polling is what is left.
 */
final class HypervisorWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HypervisorWatch.class);

  private final ScheduledExecutorService timer;

  /** The boot (see {@link #bootOf}) whose death was reported, by VM uid. */
  private final Map<String, String> reported = new ConcurrentHashMap<>();

  HypervisorWatch(
      Supplier<List<VirtualMachine>> vms,
      Predicate<VirtualMachine> alive,
      Consumer<VirtualMachine> reconcile,
      long periodMillis) {
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hypervisor-watch");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            for (VirtualMachine vm : vms.get()) {
              check(vm, alive, reconcile);
            }
          } catch (RuntimeException e) {
            log.warn("hypervisor watch: {}", e.toString());
          }
        },
        periodMillis,
        periodMillis,
        TimeUnit.MILLISECONDS);
  }

  private void check(
      VirtualMachine vm, Predicate<VirtualMachine> alive, Consumer<VirtualMachine> reconcile) {
    // Once per death, not once per VM: keyed by the boot, so that a VM restarted before this
    // watch saw it up again is reported when it dies again (a second crash went unnoticed until
    // the resync otherwise).
    String uid = vm.getMetadata().getUid();
    String boot = bootOf(vm);
    VmPhase phase = vm.getStatus() == null ? null : vm.getStatus().phase;
    boolean shouldRun =
        (phase == VmPhase.Running || phase == VmPhase.Paused)
            && vm.getMetadata().getDeletionTimestamp() == null;
    if (!shouldRun) {
      reported.remove(uid);
      return;
    }
    if (alive.test(vm)) {
      reported.remove(uid);
    } else if (!boot.equals(reported.put(uid, boot))) {
      log.warn(
          "{}/{}: hypervisor process is gone",
          vm.getMetadata().getNamespace(),
          vm.getMetadata().getName());
      reconcile.accept(vm);
    }
  }

  /** What tells one boot of a VM from the next: its restart count and the guest's boot id. */
  static String bootOf(VirtualMachine vm) {
    var status = vm.getStatus();
    return (status == null ? "" : status.restartCount)
        + "/"
        + (status == null || status.guest == null ? "" : status.guest.bootId);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
