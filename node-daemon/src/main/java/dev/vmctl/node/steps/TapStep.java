package dev.vmctl.node.steps;

import dev.vmctl.node.net.HostNetwork;
import java.io.IOException;

/** The VM's TAP device: on the bridge, up, isolated from the other VMs' ports. */
public final class TapStep implements HostStep {
  private final HostNetwork network;

  public TapStep(HostNetwork network) {
    this.network = network;
  }

  @Override
  public String name() {
    return "TAP";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !network.tapReady(pass.plan().tap());
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    network.createTap(pass.plan().tap());
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return network.tapReady(pass.plan().tap());
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    network.removeTap(pass.plan().tap());
  }
}
