package dev.vmctl.operator.scheduling;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.Objects;

/** Small pure helpers for VM status: copying, comparing, moving between phases. */
final class VmStatuses {
  private static final ObjectMapper JSON = Serialization.jsonMapper();

  private VmStatuses() {}

  static VirtualMachineStatus copy(VirtualMachineStatus status) {
    return status == null
        ? new VirtualMachineStatus()
        : JSON.convertValue(status, VirtualMachineStatus.class);
  }

  static boolean same(VirtualMachineStatus a, VirtualMachineStatus b) {
    return Objects.equals(JSON.valueToTree(a), JSON.valueToTree(b));
  }

  static void phase(VirtualMachineStatus status, VmPhase phase, Instant now) {
    dev.vmctl.api.status.Phases.set(status, phase, now);
  }

  static VmPhase previousPhase(VirtualMachineStatus status, VmPhase fallback) {
    return dev.vmctl.api.status.Phases.previous(status, fallback);
  }

  static String key(VirtualMachine vm) {
    return vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName();
  }
}
