package dev.vmctl.api.access;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Who owns a VM, as every component reads it: the User whose namespace holds it. A namespace is a
 * User's once the operator has provisioned it for them ({@code status.namespace}, written only
 * after the namespace carries that User's label). {@code spec.owner}, when set, must name that same
 * User; naming anyone else gives nobody ownership (issue 21: a VM in {@code user-me} with {@code
 * owner: eve} handed the VM to whoever registered as eve).
 */
public final class Ownership {
  private Ownership() {}

  /** Whether {@code user} owns {@code vm}. */
  public static boolean owns(User user, VirtualMachine vm) {
    if (user == null || user.getStatus() == null || user.getStatus().namespace == null) {
      return false;
    }
    String named = vm.getSpec() == null ? null : vm.getSpec().owner;
    return user.getStatus().namespace.equals(vm.getMetadata().getNamespace())
        && (named == null || named.equals(user.getMetadata().getName()));
  }

  /**
   * The one User among {@code candidates} (those named by {@code spec.owner}, or those whose
   * namespace holds the VM) who owns the VM; empty when none or more than one does, so a namespace
   * two Users claim belongs to nobody.
   */
  public static Optional<User> ownerAmong(VirtualMachine vm, Collection<User> candidates) {
    List<User> owners = candidates.stream().filter(u -> owns(u, vm)).toList();
    return owners.size() == 1 ? Optional.of(owners.get(0)) : Optional.empty();
  }

  /**
   * Why the VM's {@code spec.owner} cannot own it, as a sentence for people; empty when the owner
   * is fine or unset.
   *
   * @param named the User that {@code spec.owner} names, if one exists
   */
  public static Optional<String> problem(VirtualMachine vm, Optional<User> named) {
    String owner = vm.getSpec() == null ? null : vm.getSpec().owner;
    if (owner == null) {
      return Optional.empty();
    }
    String namespace = vm.getMetadata().getNamespace();
    if (named.isEmpty()) {
      return Optional.of(
          "spec.owner names "
              + owner
              + ", but there is no User "
              + owner
              + "; a VM's owner must be the User whose namespace ("
              + namespace
              + ") holds it.");
    }
    if (!owns(named.get(), vm)) {
      String theirs = named.get().getStatus() == null ? null : named.get().getStatus().namespace;
      return Optional.of(
          "spec.owner names "
              + owner
              + ", whose namespace is "
              + (theirs == null ? "not provisioned yet" : theirs)
              + ", not "
              + namespace
              + "; a VM's owner must be the User whose namespace holds it. Remove spec.owner or"
              + " create the VM in the owner's namespace.");
    }
    return Optional.empty();
  }
}
