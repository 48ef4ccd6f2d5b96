package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What {@code <vm>} means for a person: their own VM of that name, else the oldest VM of that name
 * shared with them by email. Anything else is indistinguishable from a missing VM.
 */
public final class VmLookup {
  /** A VM the person may reach, and why. */
  public record Found(VirtualMachine vm, Access.Via via) {
    public boolean owned() {
      return via == Access.Via.OWNER;
    }
  }

  private final Directory directory;

  public VmLookup(Directory directory) {
    this.directory = directory;
  }

  public Optional<Found> find(User user, String name, Instant now) {
    if (!Names.isDnsLabel(name)) {
      return Optional.empty();
    }
    Optional<VirtualMachine> own = directory.vm(Directory.namespaceOf(user), name);
    if (own.isPresent()) {
      return Optional.of(new Found(own.get(), Access.Via.OWNER));
    }
    return directory.vmsNamed(name).stream()
        .filter(vm -> reachable(user, vm, now) == Access.Via.EMAIL_SHARE)
        .findFirst()
        .map(vm -> new Found(vm, Access.Via.EMAIL_SHARE));
  }

  /** The person's VMs followed by the VMs shared with them, each once. */
  public List<Found> visible(User user, Instant now) {
    List<Found> own =
        directory.vmsOf(user).stream().map(vm -> new Found(vm, Access.Via.OWNER)).toList();
    List<Found> shared =
        directory.sharesWithEmail(user.getSpec().email).stream()
            .map(s -> directory.vm(s.getMetadata().getNamespace(), s.getSpec().vm))
            .flatMap(Optional::stream)
            .filter(vm -> !vm.getMetadata().getNamespace().equals(Directory.namespaceOf(user)))
            .filter(vm -> reachable(user, vm, now) == Access.Via.EMAIL_SHARE)
            .distinct()
            .sorted(Comparator.comparing((VirtualMachine vm) -> vm.getMetadata().getName()))
            .map(vm -> new Found(vm, Access.Via.EMAIL_SHARE))
            .toList();
    return java.util.stream.Stream.concat(own.stream(), shared.stream()).toList();
  }

  /** Whether {@link #find} would still give this VM to the person (used to re-check grants). */
  public boolean reaches(User user, VirtualMachine vm, Instant now) {
    return Access.usable(user)
        && (vm.getMetadata().getNamespace().equals(Directory.namespaceOf(user))
            || reachable(user, vm, now) == Access.Via.EMAIL_SHARE);
  }

  public Access.Via reachable(User user, VirtualMachine vm, Instant now) {
    List<Share> shares = directory.sharesOf(vm);
    return Access.ssh(vm, directory.ownerOf(vm), user, shares, now);
  }
}
