package dev.vmctl.node.steps;

import java.io.IOException;

/**
 * The guest's network (address, gateway, MAC) and hostname, through its agent, once per boot: a
 * boot id this daemon has not configured is configured. Verified by the agent answering with the
 * same boot id afterwards (the agent has no read-back of its network settings).
 */
public final class GuestConfigStep implements HostStep {
  private final Remembered remembered;

  public GuestConfigStep(Remembered remembered) {
    this.remembered = remembered;
  }

  @Override
  public String name() {
    return "guest configuration";
  }

  @Override
  public boolean needed(VmPass pass) {
    return !pass.hello().bootId().equals(remembered.of(pass.plan().id()).configuredBoot);
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    var plan = pass.plan();
    pass.agent()
        .configureNetwork(
            pass.status().ipAddress + "/" + plan.prefix(), plan.gateway(), plan.mac());
    pass.agent().setHostname(plan.name());
    Remembered.Vm vm = remembered.of(plan.id());
    vm.forgetBoot(); // a new boot: its keys are installed again too
    vm.configuredBoot = pass.hello().bootId();
    vm.configuredAt = pass.now();
    vm.crashes = 0; // the boot succeeded
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return pass.agent().hello().bootId().equals(remembered.of(pass.plan().id()).configuredBoot);
  }
}
