package dev.vmctl.node.steps;

import dev.vmctl.node.identity.Identities;
import dev.vmctl.node.model.Subnet;
import java.io.IOException;

/**
 * The VM's address, MAC and vsock CID: claimed on this host (claim files) and recorded in status
 * before anything uses them, so a crash at any point reuses the same identity.
 */
public final class IdentityStep implements HostStep {
  private final Identities identities;
  private final Subnet subnet;
  private final Identities.HostVms hostVms;

  /**
   * @param hostVms this host's VMs and their identities, read from the API server itself (an
   *     informer cache may lag behind another VM's claim)
   */
  public IdentityStep(Identities identities, Subnet subnet, Identities.HostVms hostVms) {
    this.identities = identities;
    this.subnet = subnet;
    this.hostVms = hostVms;
  }

  @Override
  public String name() {
    return "identity";
  }

  /** Whether the identity in status is this VM's claim (adopting one recorded before claims). */
  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !held(pass);
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    Identities.Identity identity = identities.reserve(pass.uid(), hostVms);
    pass.status().ipAddress = identity.ip();
    pass.status().macAddress = identity.mac();
    pass.status().vsockCid = identity.cid();
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return held(pass);
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    identities.release(pass.uid());
  }

  private boolean held(VmPass pass) throws IOException {
    var s = pass.status();
    return s.ipAddress != null
        && s.macAddress != null
        && s.vsockCid != null
        && subnet.contains(s.ipAddress)
        && identities.adopt(pass.uid(), s.ipAddress, s.vsockCid);
  }
}
