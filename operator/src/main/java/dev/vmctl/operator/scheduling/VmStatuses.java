package dev.vmctl.operator.scheduling;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Objects;

/** Small pure helpers for VM status: copying, comparing, moving between phases. */
final class VmStatuses {
  private static final ObjectMapper JSON = Serialization.jsonMapper();
  static final int MAX_TRANSITIONS = 20;

  private VmStatuses() {}

  static VirtualMachineStatus copy(VirtualMachineStatus status) {
    return status == null
        ? new VirtualMachineStatus()
        : JSON.convertValue(status, VirtualMachineStatus.class);
  }

  static boolean same(VirtualMachineStatus a, VirtualMachineStatus b) {
    return Objects.equals(JSON.valueToTree(a), JSON.valueToTree(b));
  }

  /** Sets the phase, recording the transition time when it changes. */
  static void phase(VirtualMachineStatus status, VmPhase phase, Instant now) {
    if (status.phase == phase) {
      return;
    }
    status.phase = phase;
    if (status.phaseTransitions == null) {
      status.phaseTransitions = new ArrayList<>();
    }
    status.phaseTransitions.add(
        new VirtualMachineStatus.PhaseTransition(
            phase, now.truncatedTo(ChronoUnit.SECONDS).toString()));
    while (status.phaseTransitions.size() > MAX_TRANSITIONS) {
      status.phaseTransitions.remove(0);
    }
  }

  /** The phase before the most recent one, to return to when a lost host comes back. */
  static VmPhase previousPhase(VirtualMachineStatus status, VmPhase fallback) {
    var transitions = status.phaseTransitions;
    for (int i = transitions.size() - 1; i >= 0; i--) {
      VmPhase p = transitions.get(i).phase;
      if (p != VmPhase.Unknown) {
        return p;
      }
    }
    return fallback;
  }

  static String key(VirtualMachine vm) {
    return vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName();
  }
}
