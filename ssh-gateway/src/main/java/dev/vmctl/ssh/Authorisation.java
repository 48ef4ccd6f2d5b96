package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether what let a person in still holds, asked of the informer caches (no I/O): checked when a
 * channel opens and again by {@link Revocations} while it is open. Each check answers null while
 * the authorisation holds, else the sentence the person is shown when it ends.
 */
final class Authorisation {
  private Authorisation() {}

  /**
   * A registered person's sign-in: their User exists, is usable, and the key the session signed in
   * with still identifies that User (removing it, or another User registering it too, ends it).
   */
  static String personWithdrawn(Directory directory, Person person) {
    Optional<User> user = directory.user(person.userName());
    if (user.isEmpty()) {
      return "your account was deleted";
    }
    if (!Access.usable(user.get())) {
      return "your account is disabled";
    }
    String holder =
        directory
            .userByFingerprint(person.fingerprint())
            .map(u -> u.getMetadata().getName())
            .orElse(null);
    if (!person.userName().equals(holder)) {
      return "the key this session signed in with is no longer on your account";
    }
    return null;
  }

  /**
   * Access to one VM, bound to the VM object it was granted for (a new VM of the same name is
   * another VM): it still exists and is still what {@link VmLookup} finds for the person (in their
   * namespace, or shared with them by an email Share in force).
   */
  record VmGrant(String namespace, String name, String uid) {
    static VmGrant of(VirtualMachine vm) {
      return new VmGrant(
          vm.getMetadata().getNamespace(), vm.getMetadata().getName(), vm.getMetadata().getUid());
    }

    String withdrawn(Directory directory, Person person, Instant now) {
      String signIn = personWithdrawn(directory, person);
      if (signIn != null) {
        return signIn;
      }
      VirtualMachine vm = directory.vm(namespace, name).orElse(null);
      if (vm == null || !Objects.equals(uid, vm.getMetadata().getUid())) {
        return "VM " + name + " was deleted";
      }
      User user = directory.user(person.userName()).orElseThrow();
      return new VmLookup(directory).reaches(user, vm, now)
          ? null
          : "your access to VM " + name + " was withdrawn";
    }
  }
}
