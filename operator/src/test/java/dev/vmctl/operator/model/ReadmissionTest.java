package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.status.Admission;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A stopped VM gives back CPU and memory and gets them again only through its host and quota. */
class ReadmissionTest {
  static final long GI = 1L << 30;
  static final long MI = 1L << 20;
  static final Instant NOW = Instant.parse("2026-12-02T05:00:00Z");
  static final Amounts VM = new Amounts(1, GI, 10 * GI, 10 * GI);
  static final HostView HOST = HostRoomTest.twoCoresRatioFour(16 * GI, 512 * MI);

  static VirtualMachine vm() {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("web");
    vm.getMetadata().setNamespace("user-ada");
    vm.getMetadata().setGeneration(3L);
    vm.setSpec(new VirtualMachineSpec());
    vm.setStatus(new VirtualMachineStatus());
    vm.getStatus().nodeName = "h";
    vm.getStatus().phase = VmPhase.Stopped;
    return vm;
  }

  @Test
  void releasingKeepsTheDisksAndHostAndTakesBackCpuAndMemory() {
    VirtualMachine vm = vm();
    VirtualMachineStatus status = vm.getStatus();
    status.allocated = Demand.toResource(VM);
    assertThat(Admission.granted(status)).isTrue();
    Readmission.release(vm, status, VM, NOW);
    assertThat(Admission.granted(status)).isFalse();
    assertThat(Demand.of(status.allocated)).isEqualTo(VM.disksOnly());
    assertThat(status.nodeName).isEqualTo("h");
    var scheduled = Conditions.find(status.conditions, ConditionTypes.SCHEDULED).orElseThrow();
    assertThat(scheduled.getStatus()).isEqualTo("True");
    assertThat(scheduled.getReason()).isEqualTo(Reasons.RELEASED);
  }

  @Test
  void aStoppedVmIsAdmittedAgainWhenItsHostHasRoom() {
    // Seven other 1-vCPU VMs run on the 8-vCPU host; this one keeps only its disks.
    Amounts used = used(7, true).plus(VM.disksOnly());
    Readmission.Decision d = Readmission.decide(VM.disksOnly(), VM, List.of(), usage(), HOST, used);
    assertThat(d.admitted()).isTrue();
    assertThat(d.granted()).isEqualTo(VM);
    assertThat(d.message())
        .isEqualTo("Admitted again on host h with 1 vCPU, 1Gi memory and 20Gi disk.");
    VirtualMachine vm = vm();
    assertThat(Readmission.applyTo(vm, vm.getStatus(), d, NOW)).as("no Warning").isFalse();
    assertThat(Admission.granted(vm.getStatus())).isTrue();
    assertThat(Conditions.find(vm.getStatus().conditions, ConditionTypes.SCHEDULED))
        .hasValueSatisfying(c -> assertThat(c.getReason()).isEqualTo(Reasons.ADMITTED));
  }

  @Test
  void aStoppedVmWaitsOnItsOwnHostSayingWhatIsShortAndWarnsOnce() {
    Amounts used = used(8, true).plus(VM.disksOnly());
    Readmission.Decision d = Readmission.decide(VM.disksOnly(), VM, List.of(), usage(), HOST, used);
    assertThat(d.admitted()).isFalse();
    assertThat(d.reason()).contains(Reasons.INSUFFICIENT_RESOURCES);
    assertThat(d.granted()).isEqualTo(VM.disksOnly());
    assertThat(d.message())
        .isEqualTo(
            "Waiting to start: host h, where its disks are, has 0 vCPUs free, 1 needed. It starts"
                + " when room frees there.");
    VirtualMachine vm = vm();
    vm.getStatus().allocated = Demand.toResource(VM.disksOnly());
    assertThat(Readmission.applyTo(vm, vm.getStatus(), d, NOW)).as("first: a Warning").isTrue();
    assertThat(Readmission.applyTo(vm, vm.getStatus(), d, NOW)).as("again: none").isFalse();
    assertThat(Admission.granted(vm.getStatus())).isFalse();
    var c = Conditions.find(vm.getStatus().conditions, ConditionTypes.SCHEDULED).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo(Reasons.INSUFFICIENT_RESOURCES);
  }

  @Test
  void theOverheadCountsWhenAStoppedVmComesBack() {
    // 8Gi host: five running 1Gi VMs take 7.5Gi with their overhead; 0.5Gi is not 1.5Gi.
    HostView small = HostRoomTest.twoCoresRatioFour(8 * GI, 512 * MI);
    Amounts used = used(5, true).plus(VM.disksOnly());
    Readmission.Decision d =
        Readmission.decide(VM.disksOnly(), VM, List.of(), usage(), small, used);
    assertThat(d.message())
        .isEqualTo(
            "Waiting to start: host h, where its disks are, has 512Mi memory free, 1.5Gi needed"
                + " (overhead included). It starts when room frees there.");
  }

  @Test
  void theQuotaIsCheckedWithoutOverheadAndWithTheVmsDisksAlreadyCounted() {
    Quota q = new Quota();
    q.getMetadata().setName("default");
    q.setSpec(new Quota.Spec());
    q.getSpec().hard = new Quota.Amounts(2, 1, "1Gi", "20Gi");
    QuotaCheck.Usage usage = QuotaCheck.Usage.NONE.plus(VM.disksOnly());
    Readmission.Decision fits =
        Readmission.decide(VM.disksOnly(), VM, List.of(q), usage, HOST, VM.disksOnly());
    assertThat(fits.admitted()).as(fits.message()).isTrue();
    QuotaCheck.Usage withAnother = usage.plus(new Amounts(1, GI, 0, 0));
    Readmission.Decision waits =
        Readmission.decide(VM.disksOnly(), VM, List.of(q), withAnother, HOST, VM.disksOnly());
    assertThat(waits.reason()).contains(Reasons.QUOTA_EXCEEDED);
    assertThat(waits.message())
        .startsWith("Waiting to start: quota exceeded: default: vCPUs need 1, 0 of 1 left");
  }

  @Test
  void aRebuiltLedgerGivesTheSameRoomAsTheOneThatReleasedAndReadmitted() {
    // Incrementally: 8 VMs placed, one released. Rebuilt: each VM's status.allocated read back.
    java.util.Map<String, HostLoad> live = new java.util.HashMap<>();
    List<VirtualMachineStatus> statuses = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      live.merge("h", HostLoad.of(VM), HostLoad::plus);
      VirtualMachineStatus s = new VirtualMachineStatus();
      s.allocated = Demand.toResource(VM);
      statuses.add(s);
    }
    live.merge("h", HostLoad.of(VM), HostLoad::minus);
    live.merge("h", HostLoad.of(VM.disksOnly()), HostLoad::plus);
    Readmission.release(vm(), statuses.get(0), VM, NOW);
    java.util.Map<String, HostLoad> rebuilt = new java.util.HashMap<>();
    for (VirtualMachineStatus s : statuses) {
      rebuilt.merge("h", HostLoad.of(Demand.of(s.allocated)), HostLoad::plus);
    }
    assertThat(rebuilt).isEqualTo(live);
    assertThat(Placement.used(rebuilt, HOST))
        .isEqualTo(new Amounts(7, 7 * GI + 7 * 512 * MI, 80 * GI, 80 * GI));
  }

  /** {@code n} other running 1-vCPU, 1Gi VMs with their overhead. */
  static Amounts used(int n, boolean running) {
    HostLoad load = HostLoad.NONE;
    for (int i = 0; i < n; i++) {
      load = load.plus(HostLoad.of(running ? VM : VM.disksOnly()));
    }
    return load.used(HOST.vmMemoryOverhead());
  }

  static QuotaCheck.Usage usage() {
    return QuotaCheck.Usage.NONE.plus(VM.disksOnly());
  }
}
