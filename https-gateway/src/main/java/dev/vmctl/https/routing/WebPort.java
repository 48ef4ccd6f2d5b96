package dev.vmctl.https.routing;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import java.util.List;
import java.util.Optional;

/**
 * Which port of a VM serves its web address: {@code spec.http.port} when set, else the lowest port
 * the guest agent reports listening other than 22 (SSH is never a web server).
 */
public final class WebPort {
  private static final int SSH = 22;

  private WebPort() {}

  public static Optional<Integer> of(VirtualMachine vm) {
    if (vm.getSpec() != null && vm.getSpec().http != null && vm.getSpec().http.port != null) {
      return Optional.of(vm.getSpec().http.port);
    }
    if (vm.getStatus() == null || vm.getStatus().guest == null) {
      return Optional.empty();
    }
    List<Integer> ports = vm.getStatus().guest.listeningPorts;
    if (ports == null) {
      return Optional.empty();
    }
    return ports.stream()
        .filter(p -> p != null && p > 0 && p < 65536 && p != SSH)
        .min(Integer::compare);
  }
}
