package dev.vmctl.node.steps;

import dev.vmctl.node.hypervisor.Hypervisor;
import java.io.IOException;

/** The running guest paused or resumed as spec.paused says, verified by asking the hypervisor. */
public final class PauseStep implements HostStep {
  private final Hypervisor hypervisor;

  public PauseStep(Hypervisor hypervisor) {
    this.hypervisor = hypervisor;
  }

  @Override
  public String name() {
    return "pause";
  }

  private static boolean wanted(VmPass pass) {
    return Boolean.TRUE.equals(pass.vm().getSpec().paused);
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return hypervisor.isPaused(pass.plan()) != wanted(pass);
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    if (wanted(pass)) {
      hypervisor.pause(pass.plan());
    } else {
      hypervisor.resume(pass.plan());
    }
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return hypervisor.isPaused(pass.plan()) == wanted(pass);
  }
}
