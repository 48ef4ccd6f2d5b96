package dev.vmctl.node.model;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The public keys a VM's guest user should authorise: the VM's own {@code spec.sshKeys}, its
 * owner's keys, the keys of people it is shared with by email, and the SSH gateway's proxy key (for
 * {@code ssh vm@gateway}). Disabled users' keys are left out, so disabling a person locks them out
 * of every VM at the next resync.
 */
public final class AuthorizedKeys {
  private AuthorizedKeys() {}

  public static List<String> desired(
      VirtualMachine vm, User owner, Collection<User> sharedWith, Collection<String> gatewayKeys) {
    Set<String> keys = new LinkedHashSet<>();
    if (vm.getSpec().sshKeys != null) {
      keys.addAll(vm.getSpec().sshKeys);
    }
    addKeys(keys, owner);
    sharedWith.stream()
        .sorted((a, b) -> a.getMetadata().getName().compareTo(b.getMetadata().getName()))
        .forEach(u -> addKeys(keys, u));
    keys.addAll(gatewayKeys);
    List<String> result = new ArrayList<>();
    for (String key : keys) {
      String trimmed = key.trim();
      if (!trimmed.isEmpty() && !trimmed.startsWith("#") && !result.contains(trimmed)) {
        result.add(trimmed);
      }
    }
    return result;
  }

  private static void addKeys(Set<String> keys, User user) {
    if (user != null
        && user.getSpec() != null
        && !Boolean.TRUE.equals(user.getSpec().disabled)
        && user.getSpec().sshKeys != null) {
      keys.addAll(user.getSpec().sshKeys);
    }
  }
}
