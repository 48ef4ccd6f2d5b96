package dev.vmctl.node.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The node daemon's lifecycle decisions, without a host (issue 13 item 1). */
class VmLifecycleTest {
  static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");
  static final Subnet SUBNET = Subnet.parse("10.126.0.0/24");

  static VirtualMachine vm(VmPhase phase) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("web");
    vm.getMetadata().setNamespace("alice");
    vm.getMetadata().setUid("0b3e7a52-8d6f-4f0e-9c51-2f4a1f7a9c01");
    VirtualMachineSpec spec = new VirtualMachineSpec();
    spec.cpus = 2;
    spec.memory = "2Gi";
    vm.setSpec(spec);
    VirtualMachineStatus status = new VirtualMachineStatus();
    status.phase = phase;
    status.allocated = granted();
    vm.setStatus(status);
    return vm;
  }

  /** What the operator grants a placed VM of this size: vCPUs, memory and both disks. */
  static ResourceAmounts granted() {
    ResourceAmounts a = new ResourceAmounts(2, "2Gi", "10Gi");
    a.rootDisk = "10Gi";
    return a;
  }

  /** What a VM stopped for good keeps: its disks, no vCPUs and no memory. */
  static ResourceAmounts disksOnly() {
    ResourceAmounts a = new ResourceAmounts(null, null, "10Gi");
    a.rootDisk = "10Gi";
    return a;
  }

  static VmPlan plan(VirtualMachine vm) {
    return VmPlanner.plan(vm, Path.of("/var/lib/vmctl"), SUBNET);
  }

  /** A host with this VM's identity held and its process as given. */
  static HostObservation host(boolean running) {
    return new HostObservation(
        true,
        running,
        running ? "2 CPUs and 2048Mi" : null,
        false,
        NOW.minusSeconds(60),
        0,
        null,
        NOW);
  }

  static VmIntent decide(VirtualMachine vm, HostObservation host) {
    return VmLifecycle.decide(vm, plan(vm), host);
  }

  @Test
  void noIdentityIsClaimedBeforeAnythingElseEvenWhenHalted() {
    VirtualMachine vm = vm(VmPhase.Running);
    vm.getSpec().runStrategy = RunStrategy.Halted;
    HostObservation noIdentity =
        new HostObservation(false, true, null, false, Instant.EPOCH, 0, null, NOW);
    assertThat(decide(vm, noIdentity).power()).isEqualTo(VmIntent.Power.CLAIM_IDENTITY);
  }

  @Test
  void haltedStopsWhatRunsAndStaysStopped() {
    VirtualMachine vm = vm(VmPhase.Running);
    vm.getSpec().runStrategy = RunStrategy.Halted;
    assertThat(decide(vm, host(true)).power()).isEqualTo(VmIntent.Power.HALT);
    assertThat(decide(vm, host(false)).power()).isEqualTo(VmIntent.Power.HALT);
  }

  @Test
  void aNewVmAndAFinishedStopAreStarted() {
    assertThat(decide(vm(VmPhase.Provisioning), host(false)).power())
        .isEqualTo(VmIntent.Power.START);
    VmIntent afterStop = decide(vm(VmPhase.Stopping), host(false));
    assertThat(afterStop.power()).isEqualTo(VmIntent.Power.START);
    assertThat(afterStop.crash()).isZero();
  }

  @Test
  void aDeadHypervisorIsRecordedAsACrashFirstThenRestartedAfterItsBackoff() {
    VmIntent crash = decide(vm(VmPhase.Running), host(false));
    assertThat(crash.power()).isEqualTo(VmIntent.Power.RECORD_CRASH);
    assertThat(crash.crash()).isEqualTo(1);
    assertThat(crash.countRestart()).isFalse();

    // The third crash in a row: 4 s after the last start.
    VirtualMachine failed = vm(VmPhase.Failed);
    HostObservation justStarted =
        new HostObservation(true, false, null, false, NOW.minusSeconds(1), 3, null, NOW);
    VmIntent waiting = decide(failed, justStarted);
    assertThat(waiting.power()).isEqualTo(VmIntent.Power.BACK_OFF);
    assertThat(waiting.notBefore()).isEqualTo(NOW.plusSeconds(3));

    HostObservation later =
        new HostObservation(true, false, null, false, NOW.minusSeconds(5), 3, null, NOW);
    VmIntent restart = decide(failed, later);
    assertThat(restart.power()).isEqualTo(VmIntent.Power.START);
    assertThat(restart.crash()).isEqualTo(3);
    assertThat(restart.countRestart()).isTrue();
  }

  @Test
  void backoffDoublesUpToFiveMinutes() {
    assertThat(VmLifecycle.backoff(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(VmLifecycle.backoff(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(VmLifecycle.backoff(5)).isEqualTo(Duration.ofSeconds(16));
    assertThat(VmLifecycle.backoff(9)).isEqualTo(Duration.ofSeconds(256));
    assertThat(VmLifecycle.backoff(40)).isEqualTo(Duration.ofSeconds(256));
  }

  @Test
  void aGuestThatPoweredItselfOffStaysOffOnlyUnderRerunOnFailure() {
    HostObservation poweredOff =
        new HostObservation(true, false, null, true, NOW.minusSeconds(60), 0, null, NOW);
    VirtualMachine rerun = vm(VmPhase.Running);
    rerun.getSpec().runStrategy = RunStrategy.RerunOnFailure;
    assertThat(decide(rerun, poweredOff).power()).isEqualTo(VmIntent.Power.STAY_POWERED_OFF);
    assertThat(decide(vm(VmPhase.Running), poweredOff).power())
        .isEqualTo(VmIntent.Power.RECORD_CRASH);
  }

  @Test
  void theRestartAnnotationRestartsOnceAndAStopUnderWayIsFinished() {
    VirtualMachine vm = vm(VmPhase.Running);
    vm.getMetadata()
        .setAnnotations(Map.of(VirtualMachine.RESTARTED_AT_ANNOTATION, "2026-12-02T09:59:00Z"));
    VmIntent restart = decide(vm, host(true));
    assertThat(restart.power()).isEqualTo(VmIntent.Power.RESTART);
    assertThat(restart.restartedAt()).isEqualTo("2026-12-02T09:59:00Z");
    assertThat(restart.countRestart()).isTrue();

    // The request is recorded; the next pass, still stopping, does not count it again.
    vm.getStatus().restartedAt = "2026-12-02T09:59:00Z";
    vm.getStatus().phase = VmPhase.Stopping;
    VmIntent stopping = decide(vm, host(true));
    assertThat(stopping.power()).isEqualTo(VmIntent.Power.RESTART);
    assertThat(stopping.countRestart()).isFalse();

    vm.getStatus().phase = VmPhase.Running;
    assertThat(decide(vm, host(true)).power()).isEqualTo(VmIntent.Power.RUN);
  }

  @Test
  void aRestartRequestForAStoppedVmIsRecordedNotActedOn() {
    VirtualMachine vm = vm(VmPhase.Stopped);
    vm.getMetadata().setAnnotations(Map.of(VirtualMachine.RESTARTED_AT_ANNOTATION, "x"));
    VmIntent intent = decide(vm, host(false));
    assertThat(intent.power()).isEqualTo(VmIntent.Power.START);
    assertThat(intent.restartedAt()).isEqualTo("x");
    assertThat(intent.countRestart()).isFalse();
  }

  /** Issue 15: the node daemon starts nothing whose CPU and memory the operator has not granted. */
  @Test
  void aVmToRunWithoutAGrantStaysStoppedUntilTheOperatorGrantsIt() {
    VirtualMachine vm = vm(VmPhase.Stopped); // was Halted, released, now runStrategy Always
    vm.getStatus().allocated = disksOnly();
    assertThat(decide(vm, host(false)).power()).isEqualTo(VmIntent.Power.AWAIT_ADMISSION);
    vm.getStatus().allocated = null; // nothing at all is no grant either
    assertThat(decide(vm, host(false)).power()).isEqualTo(VmIntent.Power.AWAIT_ADMISSION);
    vm.getStatus().allocated = granted();
    assertThat(decide(vm, host(false)).power()).isEqualTo(VmIntent.Power.START);
  }

  @Test
  void aRestartAskedWithoutAGrantWaitsAndIsNotRecordedSoItStillHappensOnceGranted() {
    VirtualMachine vm = vm(VmPhase.Stopped);
    vm.getSpec().runStrategy = RunStrategy.RerunOnFailure;
    vm.getStatus().allocated = disksOnly();
    vm.getMetadata().setAnnotations(Map.of(VirtualMachine.RESTARTED_AT_ANNOTATION, "x"));
    VmIntent waiting = decide(vm, host(false));
    assertThat(waiting.power()).isEqualTo(VmIntent.Power.AWAIT_ADMISSION);
    assertThat(waiting.restartedAt()).isNull();
    vm.getStatus().allocated = granted();
    VmIntent start = decide(vm, host(false));
    assertThat(start.power()).isEqualTo(VmIntent.Power.START);
    assertThat(start.restartedAt()).isEqualTo("x");
  }

  @Test
  void aGuestThatPoweredOffAndGaveBackItsGrantStaysOff() {
    VirtualMachine vm = vm(VmPhase.Stopped);
    vm.getSpec().runStrategy = RunStrategy.RerunOnFailure;
    vm.getStatus().allocated = disksOnly();
    vm.getStatus().conditions =
        Conditions.set(
            vm.getStatus().conditions,
            ConditionTypes.READY,
            false,
            Reasons.GUEST_POWERED_OFF,
            "The guest powered itself off.",
            1L,
            NOW);
    assertThat(decide(vm, host(false)).power()).isEqualTo(VmIntent.Power.STAY_POWERED_OFF);
  }

  @Test
  void aCrashedVmRestartsAfterItsBackoffOnlyOnAGrantAndARunningOneIsNeverStoppedForOne() {
    VirtualMachine failed = vm(VmPhase.Failed);
    failed.getStatus().allocated = disksOnly();
    HostObservation later =
        new HostObservation(true, false, null, false, NOW.minusSeconds(5), 1, null, NOW);
    assertThat(decide(failed, later).power()).isEqualTo(VmIntent.Power.AWAIT_ADMISSION);
    VirtualMachine running = vm(VmPhase.Running);
    running.getStatus().allocated = disksOnly();
    assertThat(decide(running, host(true)).power()).isEqualTo(VmIntent.Power.RUN);
  }

  @Test
  void aSizeDifferentFromTheBootIsAResizeAndPausedFollowsTheSpec() {
    VirtualMachine vm = vm(VmPhase.Running);
    assertThat(decide(vm, host(true)).resize()).isFalse();
    vm.getSpec().cpus = 4;
    vm.getStatus().allocated.cpus = 4; // granted by the operator
    vm.getSpec().paused = true;
    VmIntent intent = decide(vm, host(true));
    assertThat(intent.power()).isEqualTo(VmIntent.Power.RUN);
    assertThat(intent.resize()).isTrue();
    assertThat(intent.paused()).isTrue();
  }

  @Test
  void aResizeIsBoundedByWhatTheOperatorGranted() {
    VirtualMachine vm = vm(VmPhase.Running);
    vm.getSpec().cpus = 8;
    vm.getStatus().allocated = new dev.vmctl.api.v1alpha1.ResourceAmounts();
    vm.getStatus().allocated.cpus = 2;
    assertThat(decide(vm, host(true)).resize()).isFalse();
  }

  @Test
  void aSeededBootIsWatchedOnItsConsoleUntilItsLineThenTheAgentIsAsked() {
    Instant boot = NOW.minusSeconds(5);
    assertThat(SeedVerdict.judge(VmPhase.Starting, true, false, boot, null, NOW))
        .isEqualTo(SeedVerdict.WATCH_CONSOLE);
    assertThat(SeedVerdict.judge(VmPhase.Starting, true, true, boot, null, NOW))
        .isEqualTo(SeedVerdict.MARK_RUNNING);
    assertThat(SeedVerdict.judge(VmPhase.Running, true, true, boot, null, NOW))
        .as("already Running: the agent is next")
        .isEqualTo(SeedVerdict.ASK_AGENT);
    assertThat(SeedVerdict.judge(VmPhase.Starting, false, false, boot, null, NOW))
        .as("not seeded: only the agent can tell")
        .isEqualTo(SeedVerdict.ASK_AGENT);
    assertThat(SeedVerdict.judge(VmPhase.Starting, true, false, boot, boot.plusSeconds(1), NOW))
        .as("configured in this boot")
        .isEqualTo(SeedVerdict.ASK_AGENT);
    assertThat(
            SeedVerdict.judge(
                VmPhase.Starting, true, false, NOW.minus(SeedVerdict.GRACE), null, NOW))
        .as("no line within the grace: ask the agent anyway")
        .isEqualTo(SeedVerdict.ASK_AGENT);
  }

  @Test
  void theGuestVerdictNeverWaitsItSaysWhenToLookAgain() {
    Instant boot = NOW.minusSeconds(10);
    assertThat(GuestVerdict.judge(VmPhase.Starting, false, false, boot, null, NOW))
        .isEqualTo(GuestVerdict.BOOTING);
    assertThat(
            GuestVerdict.judge(
                VmPhase.Starting, false, false, NOW.minus(GuestVerdict.AGENT_WAIT), null, NOW))
        .isEqualTo(GuestVerdict.UNREACHABLE);
    // A seeded boot is Running before its agent answers: still booting until it is configured.
    assertThat(GuestVerdict.judge(VmPhase.Running, false, false, boot, null, NOW))
        .isEqualTo(GuestVerdict.BOOTING);
    // Configured in this boot and now silent: unreachable at once, whatever the phase.
    assertThat(GuestVerdict.judge(VmPhase.Running, false, false, boot, boot.plusSeconds(5), NOW))
        .isEqualTo(GuestVerdict.UNREACHABLE);
    // Configured in an earlier boot: this one is still booting.
    assertThat(GuestVerdict.judge(VmPhase.Starting, false, false, boot, boot.minusSeconds(60), NOW))
        .isEqualTo(GuestVerdict.BOOTING);
    assertThat(GuestVerdict.judge(VmPhase.Failed, false, false, boot, null, NOW))
        .isEqualTo(GuestVerdict.UNREACHABLE);
    assertThat(GuestVerdict.judge(VmPhase.Starting, true, false, boot, NOW, NOW))
        .isEqualTo(GuestVerdict.WAITING_FOR_SSH);
    assertThat(
            GuestVerdict.judge(
                VmPhase.Starting, true, false, boot, NOW.minus(GuestVerdict.SSH_WAIT), NOW))
        .isEqualTo(GuestVerdict.READY);
    assertThat(GuestVerdict.judge(VmPhase.Starting, true, true, boot, NOW, NOW))
        .isEqualTo(GuestVerdict.READY);
  }
}
