package dev.vmctl.node.steps;

import dev.vmctl.node.net.HostNetwork;
import java.io.IOException;

/** The host's VM bridge with the gateway address, up. Shared by all VMs: never removed. */
public final class BridgeStep implements HostStep {
  private final HostNetwork network;

  public BridgeStep(HostNetwork network) {
    this.network = network;
  }

  @Override
  public String name() {
    return "bridge";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !network.bridgeReady();
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    network.createBridge();
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return network.bridgeReady();
  }
}
