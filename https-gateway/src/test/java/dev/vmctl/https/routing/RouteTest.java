package dev.vmctl.https.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteTest {
  static VirtualMachine vm(VmPhase phase, String ip, Integer port, List<Integer> guestPorts) {
    VirtualMachine vm = new VirtualMachine();
    vm.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("user-ada").build());
    vm.setSpec(new VirtualMachineSpec());
    if (port != null) {
      vm.getSpec().http = new VirtualMachineSpec.HttpSpec();
      vm.getSpec().http.port = port;
    }
    vm.setStatus(new VirtualMachineStatus());
    vm.getStatus().phase = phase;
    vm.getStatus().ipAddress = ip;
    if (guestPorts != null) {
      vm.getStatus().guest = new VirtualMachineStatus.GuestStatus();
      vm.getStatus().guest.listeningPorts = guestPorts;
    }
    return vm;
  }

  @Test
  void oldestRunningVmWithAnAddressAndPortIsABackend() {
    VirtualMachine oldest = vm(VmPhase.Running, "10.0.0.5", 8080, null);
    Route route =
        Route.of("web", List.of(oldest, vm(VmPhase.Running, "10.0.0.6", 80, null)), vm -> true);
    assertThat(route).isEqualTo(new Route.Backend(oldest, "10.0.0.5", 8080));
  }

  @Test
  void unknownStoppedAndPortlessVms() {
    assertThat(Route.of("web", List.of(), vm -> true)).isEqualTo(new Route.Unknown("web"));
    assertThat(Route.of("web", List.of(vm(VmPhase.Stopped, "10.0.0.5", 80, null)), vm -> true))
        .isInstanceOfSatisfying(
            Route.Unavailable.class, u -> assertThat(u.reason()).isEqualTo("is Stopped"));
    assertThat(Route.of("web", List.of(vm(VmPhase.Running, null, 80, null)), vm -> true))
        .isInstanceOf(Route.Unavailable.class);
    assertThat(
            Route.of(
                "web", List.of(vm(VmPhase.Running, "10.0.0.5", null, List.of(22))), vm -> true))
        .isInstanceOfSatisfying(
            Route.Unavailable.class, u -> assertThat(u.reason()).contains("no web port"));
  }

  /** Issue 22: an address two VMs claim is served to nobody. */
  @Test
  void aVmWhoseAddressAnotherVmClaimsIsNotServed() {
    VirtualMachine vm = vm(VmPhase.Running, "10.0.0.5", 8080, null);
    assertThat(Route.of("web", List.of(vm), v -> false))
        .isInstanceOfSatisfying(
            Route.Unavailable.class, u -> assertThat(u.reason()).contains("shares its address"));
  }

  @Test
  void webPortIsTheSpecElseTheLowestReportedPortOtherThanSsh() {
    assertThat(WebPort.of(vm(VmPhase.Running, "x", 3000, List.of(80)))).contains(3000);
    assertThat(WebPort.of(vm(VmPhase.Running, "x", null, List.of(8080, 22, 443, 80)))).contains(80);
    assertThat(WebPort.of(vm(VmPhase.Running, "x", null, List.of(22)))).isEmpty();
    assertThat(WebPort.of(vm(VmPhase.Running, "x", null, null))).isEmpty();
  }
}
