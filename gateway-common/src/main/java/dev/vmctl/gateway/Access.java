package dev.vmctl.gateway;

import dev.vmctl.api.access.ShareTerms;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import java.time.Instant;
import java.util.Collection;
import java.util.Set;

/**
 * Who may reach a VM, decided without I/O. SSH (the shell proxy and ProxyJump) is for owners and
 * people with an email Share; the web address also admits holders of a link share and, for public
 * VMs, everyone.
 */
public final class Access {
  private Access() {}

  /** Why access was granted, or {@link #NONE}. */
  public enum Via {
    OWNER,
    EMAIL_SHARE,
    LINK_SHARE,
    PUBLIC,
    NONE;

    public boolean granted() {
      return this != NONE;
    }
  }

  /**
   * SSH access for {@code visitor}.
   *
   * @param owner the VM's owning User name ({@link Directory#ownerOf}), may be null
   * @param shares the Shares in the VM's namespace that name this VM
   */
  public static Via ssh(
      VirtualMachine vm, String owner, User visitor, Collection<Share> shares, Instant now) {
    if (!usable(visitor)) {
      return Via.NONE;
    }
    if (visitor.getMetadata().getName().equals(owner)) {
      return Via.OWNER;
    }
    String email = normalise(visitor.getSpec().email);
    for (Share share : shares) {
      if (appliesTo(share, vm, now)
          && share.getSpec().email != null
          && normalise(share.getSpec().email).equals(email)) {
        return Via.EMAIL_SHARE;
      }
    }
    return Via.NONE;
  }

  /**
   * Web access.
   *
   * @param visitor the signed-in User, or null for an anonymous visitor
   * @param linkGrants names of link Shares (in the VM's namespace) whose token the visitor
   *     presented and which still have their token Secret (deleting it revokes the link)
   */
  public static Via web(
      VirtualMachine vm,
      String owner,
      User visitor,
      Collection<Share> shares,
      Set<String> linkGrants,
      Instant now) {
    Via ssh = ssh(vm, owner, visitor, shares, now);
    if (ssh.granted()) {
      return ssh;
    }
    for (Share share : shares) {
      if (appliesTo(share, vm, now)
          && Boolean.TRUE.equals(share.getSpec().link)
          && linkGrants.contains(share.getMetadata().getName())) {
        return Via.LINK_SHARE;
      }
    }
    if (vm.getSpec() != null
        && vm.getSpec().http != null
        && Boolean.TRUE.equals(vm.getSpec().http.isPublic)) {
      return Via.PUBLIC;
    }
    for (Share share : shares) {
      if (appliesTo(share, vm, now) && Boolean.TRUE.equals(share.getSpec().isPublic)) {
        return Via.PUBLIC;
      }
    }
    return Via.NONE;
  }

  /** A Share counts while it names this VM, is not being deleted and has not expired. */
  public static boolean appliesTo(Share share, VirtualMachine vm, Instant now) {
    return ShareTerms.inForce(share, vm, now);
  }

  /** Disabled users and users without an email cannot use the gateways. */
  public static boolean usable(User user) {
    return user != null
        && user.getSpec() != null
        && user.getSpec().email != null
        && !Boolean.TRUE.equals(user.getSpec().disabled);
  }

  public static String normalise(String email) {
    return ShareTerms.normaliseEmail(email);
  }
}
