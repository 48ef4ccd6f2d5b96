package dev.vmctl.node.steps;

import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.model.VmLifecycle;
import dev.vmctl.node.storage.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;

/**
 * The VM's hypervisor process (cloud-hypervisor or QEMU), started detached so that it outlives the
 * daemon and is adopted by the next one. Verified by the hypervisor's own liveness check (QEMU: the
 * pid file's process and its command line; cloud-hypervisor: its API answering).
 */
public final class HypervisorStep implements HostStep {
  private final Hypervisor hypervisor;
  private final Storage storage;
  private final Remembered remembered;

  public HypervisorStep(Hypervisor hypervisor, Storage storage, Remembered remembered) {
    this.hypervisor = hypervisor;
    this.storage = storage;
    this.remembered = remembered;
  }

  @Override
  public String name() {
    return "hypervisor";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !hypervisor.isRunning(pass.plan());
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    var plan = pass.plan();
    Files.deleteIfExists(plan.consoleLog());
    // Both volumes were ensured and verified by their steps earlier in this pass.
    hypervisor.start(plan, storage.rootDevice(plan), storage.dataDevice(plan));
    BootRecord.write(plan, VmLifecycle.size(plan));
    BootRecord.writeDisks(plan, VmLifecycle.disks(plan));
    Remembered.Vm vm = remembered.of(plan.id());
    vm.lastStart = pass.now();
    vm.forgetBoot();
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return hypervisor.isRunning(pass.plan());
  }

  /** Ends the process (and a leftover vhost-device-vsock) without grace: the guest was asked. */
  @Override
  public void remove(VmPass pass) throws IOException {
    hypervisor.stop(pass.plan(), Duration.ZERO);
  }
}
