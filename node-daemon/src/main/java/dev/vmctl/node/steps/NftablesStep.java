package dev.vmctl.node.steps;

import dev.vmctl.node.net.HostNetwork;
import java.io.IOException;

/**
 * vmctl's nftables rules (no VM-to-VM, no VM-to-host, egress NAT) and IPv4 forwarding, verified by
 * the rules the kernel lists. Shared by all VMs: never removed.
 */
public final class NftablesStep implements HostStep {
  private final HostNetwork network;

  public NftablesStep(HostNetwork network) {
    this.network = network;
  }

  @Override
  public String name() {
    return "nftables";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !network.rulesLoaded();
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    network.loadRules();
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return network.rulesLoaded();
  }
}
