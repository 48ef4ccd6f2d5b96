package dev.vmctl.https.routing;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.util.List;

/** Where a request for {@code <vm>.<domain>} goes, decided from the VMs with that name. */
public sealed interface Route {
  /** No VM has that name. */
  record Unknown(String name) implements Route {}

  /** The VM exists but is not Running (or has no address yet). */
  record Unavailable(VirtualMachine vm, String reason) implements Route {}

  /** Proxy to {@code address:port}. */
  record Backend(VirtualMachine vm, String address, int port) implements Route {}

  /** The oldest VM named {@code name} (docs/gateways.md decision 4) and how to reach it. */
  static Route of(
      String name,
      List<VirtualMachine> oldestFirst,
      java.util.function.Predicate<VirtualMachine> addressIsUnique) {
    if (oldestFirst.isEmpty()) {
      return new Unknown(name);
    }
    VirtualMachine vm = oldestFirst.get(0);
    VmPhase phase = vm.getStatus() == null ? null : vm.getStatus().phase;
    if (phase != VmPhase.Running) {
      return new Unavailable(vm, "is " + (phase == null ? "Pending" : phase.name()));
    }
    String address = vm.getStatus().ipAddress;
    if (address == null || address.isBlank()) {
      return new Unavailable(vm, "is Running but has no IP address yet");
    }
    if (!addressIsUnique.test(vm)) {
      // Never connect anyone to an address two VMs claim: it may be another person's VM.
      return new Unavailable(vm, "shares its address with another VM; it is not served");
    }
    return WebPort.of(vm)
        .<Route>map(port -> new Backend(vm, address, port))
        .orElseGet(
            () ->
                new Unavailable(
                    vm, "is Running but serves no web port (set spec.http.port or listen on one)"));
  }
}
