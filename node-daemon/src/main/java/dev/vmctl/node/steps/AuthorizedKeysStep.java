package dev.vmctl.node.steps;

import dev.vmctl.api.status.Reasons;
import dev.vmctl.node.guest.GuestAgent;
import java.io.IOException;

/**
 * The SSH keys of the VM's owner, its shares and the gateways, in the guest user's authorized_keys,
 * whenever they differ from what this boot last got (a key added, a Share created or expired). The
 * agent has no read-back: verified by the boot being the one that got them.
 */
public final class AuthorizedKeysStep implements HostStep {
  private final Remembered remembered;
  private final String sshUser;

  public AuthorizedKeysStep(Remembered remembered, String sshUser) {
    this.remembered = remembered;
    this.sshUser = sshUser;
  }

  @Override
  public String name() {
    return "authorized keys";
  }

  @Override
  public boolean needed(VmPass pass) {
    return !pass.keys().equals(remembered.of(pass.plan().id()).appliedKeys);
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    try {
      pass.agent().setAuthorizedKeys(sshUser, pass.keys());
    } catch (GuestAgent.Refused e) {
      throw new StepFailed(
          Reasons.KEYS_REJECTED, "The guest refused the SSH keys: " + e.getMessage(), e);
    }
    remembered.of(pass.plan().id()).appliedKeys = pass.keys();
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return pass.hello().bootId().equals(remembered.of(pass.plan().id()).configuredBoot)
        && pass.keys().equals(remembered.of(pass.plan().id()).appliedKeys);
  }
}
