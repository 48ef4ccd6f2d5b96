package dev.vmctl.https.access;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import java.time.Clock;
import java.util.Set;

/** Applies {@link Access#web} to a visitor, resolving link tokens through the informer cache. */
public final class WebAccess {
  private final Directory directory;
  private final Clock clock;

  public WebAccess(Directory directory, Clock clock) {
    this.directory = directory;
    this.clock = clock;
  }

  public Access.Via decide(VirtualMachine vm, Visitor visitor) {
    return Access.web(
        vm,
        directory.ownerOf(vm),
        visitor.user(),
        directory.sharesOf(vm),
        linkGrants(vm, visitor.linkToken()),
        clock.instant());
  }

  /** Whether a link token belongs to a live link Share of this VM (checked on every request). */
  public boolean validLink(VirtualMachine vm, String token) {
    return !linkGrants(vm, token).isEmpty()
        && directory.sharesOf(vm).stream()
            .anyMatch(
                s ->
                    linkGrants(vm, token).contains(s.getMetadata().getName())
                        && Boolean.TRUE.equals(s.getSpec().link)
                        && Access.appliesTo(s, vm, clock.instant()));
  }

  private Set<String> linkGrants(VirtualMachine vm, String token) {
    if (token == null) {
      return Set.of();
    }
    return directory
        .linkShareByToken(token)
        .filter(ref -> ref.startsWith(vm.getMetadata().getNamespace() + "/"))
        .map(ref -> ref.substring(ref.indexOf('/') + 1))
        .filter(share -> directory.linkActive(vm.getMetadata().getNamespace(), share))
        .map(Set::of)
        .orElse(Set.of());
  }
}
