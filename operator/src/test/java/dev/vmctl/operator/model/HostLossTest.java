package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What host loss and recovery do to a VM's status, and when the host is checked again. */
class HostLossTest {
  static final Instant T0 = Instant.parse("2026-12-01T19:49:59Z");
  static final Duration GRACE = Duration.ofSeconds(40);

  static VirtualMachine running() {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setNamespace("n");
    vm.getMetadata().setName("vm");
    vm.getMetadata().setGeneration(1L);
    vm.setSpec(new VirtualMachineSpec());
    VirtualMachineStatus s = new VirtualMachineStatus();
    s.nodeName = "h";
    Phases.set(s, VmPhase.Scheduled, T0);
    Phases.set(s, VmPhase.Running, T0.plusSeconds(25));
    vm.setStatus(s);
    return vm;
  }

  @Test
  void aLostHostMakesItsVmUnknownWithNodeLostAndTheReturnRestoresThePhase() {
    VirtualMachine vm = running();
    Instant lostAt = T0.plusSeconds(100);
    VirtualMachineStatus lost = HostLoss.status(vm, true, GRACE, lostAt);
    assertThat(lost.phase).isEqualTo(VmPhase.Unknown);
    Condition nodeLost = Conditions.find(lost.conditions, ConditionTypes.NODE_LOST).orElseThrow();
    assertThat(nodeLost.getStatus()).isEqualTo("True");
    assertThat(nodeLost.getReason()).isEqualTo(Reasons.HEARTBEAT_MISSED);
    assertThat(nodeLost.getMessage()).contains("Host h has not sent a heartbeat within 40s");
    assertThat(nodeLost.getLastTransitionTime()).isEqualTo("2026-12-01T19:51:39Z");
    // Every transition carries its own time.
    assertThat(lost.phaseTransitions)
        .extracting(t -> t.phase + "@" + t.time)
        .containsExactly(
            "Scheduled@2026-12-01T19:49:59Z",
            "Running@2026-12-01T19:50:24Z",
            "Unknown@2026-12-01T19:51:39Z");

    vm.setStatus(lost);
    assertThat(VmStatuses.same(HostLoss.status(vm, true, GRACE, lostAt.plusSeconds(10)), lost))
        .as("still lost: nothing to write")
        .isTrue();

    VirtualMachineStatus back = HostLoss.status(vm, false, GRACE, lostAt.plusSeconds(60));
    assertThat(back.phase).isEqualTo(VmPhase.Running);
    Condition recovered = Conditions.find(back.conditions, ConditionTypes.NODE_LOST).orElseThrow();
    assertThat(recovered.getStatus()).isEqualTo("False");
    assertThat(recovered.getReason()).isEqualTo(Reasons.HOST_RECOVERED);
    assertThat(recovered.getLastTransitionTime()).isEqualTo("2026-12-01T19:52:39Z");
  }

  @Test
  void aHealthyHostChangesNothingAndADeletingVmIsNotMarkedLost() {
    VirtualMachine vm = running();
    assertThat(VmStatuses.same(HostLoss.status(vm, false, GRACE, T0), vm.getStatus())).isTrue();
    vm.getMetadata().setDeletionTimestamp("2026-12-01T19:50:30Z");
    assertThat(VmStatuses.same(HostLoss.status(vm, true, GRACE, T0), vm.getStatus())).isTrue();
  }

  @Test
  void theHostIsCheckedJustAfterItsHeartbeatWouldGoStaleAndOftenWhileLost() {
    HostView host = new HostView("h", Map.of(), true, false, T0, Amounts.ZERO, Set.of(), 0);
    Duration next = HostLoss.recheckAfter(host, GRACE, T0.plusSeconds(10));
    assertThat(next).isEqualTo(Duration.ofSeconds(30).plusMillis(100));
    assertThat(host.fresh(T0.plusSeconds(10).plus(next), GRACE)).isFalse();
    assertThat(HostLoss.recheckAfter(host, GRACE, T0.plusSeconds(41)))
        .isEqualTo(Duration.ofSeconds(10));
  }
}
