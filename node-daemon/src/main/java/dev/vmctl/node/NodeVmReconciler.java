package dev.vmctl.node;

import dev.vmctl.api.access.Ownership;
import dev.vmctl.api.access.ShareTerms;
import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.node.guest.GuestAgent;
import dev.vmctl.node.guest.GuestAgents;
import dev.vmctl.node.guest.VsockGuestAgents;
import dev.vmctl.node.host.ConsoleLog;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.host.Trees;
import dev.vmctl.node.hostkeys.DebugfsRootFiles;
import dev.vmctl.node.hostkeys.RootFiles;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.identity.Identities;
import dev.vmctl.node.model.AuthorizedKeys;
import dev.vmctl.node.model.GuestSeed;
import dev.vmctl.node.model.GuestVerdict;
import dev.vmctl.node.model.HostObservation;
import dev.vmctl.node.model.SeedVerdict;
import dev.vmctl.node.model.VmIntent;
import dev.vmctl.node.model.VmLifecycle;
import dev.vmctl.node.model.VmPlan;
import dev.vmctl.node.model.VmPlanner;
import dev.vmctl.node.net.HostNetwork;
import dev.vmctl.node.steps.AuthorizedKeysStep;
import dev.vmctl.node.steps.BootRecord;
import dev.vmctl.node.steps.BridgeStep;
import dev.vmctl.node.steps.DataVolumeStep;
import dev.vmctl.node.steps.GuestConfigStep;
import dev.vmctl.node.steps.GuestSeedStep;
import dev.vmctl.node.steps.HostKeysStep;
import dev.vmctl.node.steps.HostStep;
import dev.vmctl.node.steps.HypervisorStep;
import dev.vmctl.node.steps.IdentityStep;
import dev.vmctl.node.steps.NftablesStep;
import dev.vmctl.node.steps.PauseStep;
import dev.vmctl.node.steps.Remembered;
import dev.vmctl.node.steps.RootVolumeStep;
import dev.vmctl.node.steps.StepFailed;
import dev.vmctl.node.steps.StepRunner;
import dev.vmctl.node.steps.TapStep;
import dev.vmctl.node.steps.VmPass;
import dev.vmctl.node.storage.Storage;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.timer.TimerEventSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each VM scheduled to this host into host state. A pass measures the host ({@link
 * HostObservation}), decides purely ({@link VmLifecycle#decide}), runs the host steps that the
 * intent needs (each measure / apply / verify, {@link HostStep}), and writes status once. No pass
 * waits on a guest: a boot, an agent that is not up yet or a guest powering off are looked at again
 * in a rescheduled pass. Owns the vmctl.dev/node-cleanup finalizer: a deleted VM's steps are
 * removed in reverse order, its identity last.
 */
// Not generation-aware: the restart annotation and our own status must trigger reconciles too.
@ControllerConfiguration(
    name = "node-vms",
    finalizerName = VirtualMachine.NODE_FINALIZER,
    generationAwareEventProcessing = false)
public class NodeVmReconciler implements Reconciler<VirtualMachine>, Cleaner<VirtualMachine> {
  private static final Logger log = LoggerFactory.getLogger(NodeVmReconciler.class);
  static final Duration RESYNC = Duration.ofSeconds(15);
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(30);

  /** How long one attempt to reach the agent may take; a booting guest is tried every BOOT_POLL. */
  static final Duration AGENT_PROBE = Duration.ofSeconds(3);

  static final Duration BOOT_POLL = Duration.ofSeconds(1);

  /** How often a seeded boot's console is read for its ready line (a file read, nothing more). */
  static final Duration CONSOLE_POLL = Duration.ofMillis(250);

  /** The pieces of host state a VM needs, in the order they are applied. */
  public record Collaborators(
      Storage storage,
      HostNetwork network,
      Hypervisor hypervisor,
      Identities identities,
      GuestAgents agents,
      Clock clock,
      StepRunner.AfterApply afterApply,
      RootFiles rootFiles) {}

  private final KubernetesClient client;
  private final NodeConfig config;
  private final Hypervisor hypervisor;
  private final GuestAgents agents;
  private final Clock clock;
  private final StepRunner runner;
  private final Remembered remembered = new Remembered();
  private final IdentityStep identity;
  private final List<HostStep> provisioning;
  private final HostKeysStep hostKeys;
  private final GuestSeedStep seed;
  private final HypervisorStep hypervisorStep;
  private final PauseStep pause;
  private final GuestConfigStep guestConfig;
  private final AuthorizedKeysStep keys;
  private final GatewayKeys gatewayKeys;
  private volatile InformerEventSource<Share, VirtualMachine> shares;
  private final TimerEventSource<VirtualMachine> wakeUps =
      new TimerEventSource<>("node-wake-ups", false);
  private final HypervisorWatch watch;
  private volatile InformerEventSource<User, VirtualMachine> users;
  private final Timer bootToAgent;
  private final EventRecorder events;
  private final MeterRegistry registry;
  private final Timer provisioningTime;
  private volatile io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache<VirtualMachine>
      cache;

  public NodeVmReconciler(
      KubernetesClient client,
      NodeConfig config,
      Storage storage,
      HostNetwork network,
      Hypervisor hypervisor,
      Identities identities,
      MeterRegistry registry) {
    this(
        client,
        config,
        new Collaborators(
            storage,
            network,
            hypervisor,
            identities,
            new VsockGuestAgents(),
            Clock.systemUTC(),
            StepRunner.AfterApply.NONE,
            new DebugfsRootFiles(new ProcessCommands())),
        registry);
  }

  public NodeVmReconciler(
      KubernetesClient client, NodeConfig config, Collaborators host, MeterRegistry registry) {
    this.client = client;
    this.config = config;
    this.hypervisor = host.hypervisor();
    this.agents = host.agents();
    this.clock = host.clock();
    this.runner = new StepRunner(host.afterApply());
    this.identity =
        new IdentityStep(host.identities(), config.subnet(), this::hostVmsFromApiServer);
    this.provisioning =
        List.of(
            new RootVolumeStep(host.storage()),
            new DataVolumeStep(host.storage()),
            new BridgeStep(host.network()),
            new NftablesStep(host.network()),
            new TapStep(host.network()));
    this.hostKeys = new HostKeysStep(host.storage(), host.rootFiles());
    this.seed = new GuestSeedStep(host.storage(), host.rootFiles(), config.sshUser());
    this.hypervisorStep = new HypervisorStep(hypervisor, host.storage(), remembered);
    this.pause = new PauseStep(hypervisor);
    this.guestConfig = new GuestConfigStep(remembered);
    this.keys = new AuthorizedKeysStep(remembered, config.sshUser());
    this.gatewayKeys = new GatewayKeys(client, config.gatewayNamespace(), RESYNC, clock);
    this.bootToAgent =
        Timer.builder("vmctl_node_boot_to_agent")
            .description("Hypervisor start to agent hello")
            .register(registry);
    this.events = new EventRecorder(client, "vmctl-node-daemon/" + config.hostName());
    this.registry = registry;
    for (VmPhase phase : VmPhase.values()) {
      io.micrometer.core.instrument.Gauge.builder("vmctl_node_vms", this, r -> r.countPhase(phase))
          .description("This host's VMs by phase")
          .tag("phase", phase.name())
          .register(registry);
    }
    this.watch =
        new HypervisorWatch(
            this::cachedVms,
            vm -> hypervisor.isRunning(plan(vm)),
            vm -> wakeUps.scheduleOnce(ResourceID.fromResource(vm), 0),
            Long.getLong("vmctl.watchMillis", 500));
    this.provisioningTime =
        Timer.builder("vmctl_node_provisioning")
            .description("Volumes and TAP for a new VM")
            .register(registry);
  }

  /** Every step, in the order applied; removed in reverse, the identity (first) last. */
  private List<HostStep> allSteps() {
    List<HostStep> all = new ArrayList<>();
    all.add(identity);
    all.addAll(provisioning);
    all.addAll(List.of(hostKeys, seed, hypervisorStep, pause, guestConfig, keys));
    return all;
  }

  /** The step names, in order: docs/node-daemon.md's step table, and tests that crash in each. */
  public List<String> stepNames() {
    return allSteps().stream().map(HostStep::name).toList();
  }

  private VmPlan plan(VirtualMachine vm) {
    return VmPlanner.plan(vm, config.stateDir(), config.subnet());
  }

  private double countPhase(VmPhase phase) {
    return cachedVms().stream()
        .filter(v -> v.getStatus() != null && v.getStatus().phase == phase)
        .count();
  }

  /**
   * Per-phase timings of a VM's first start, from its phase history: created -> Scheduled ->
   * Provisioning -> Starting -> Running.
   */
  private void recordPhaseTimings(VirtualMachine vm, VirtualMachineStatus status) {
    Instant previous = Instant.parse(vm.getMetadata().getCreationTimestamp());
    String from = "Created";
    for (VirtualMachineStatus.PhaseTransition t : status.phaseTransitions) {
      Instant at = Instant.parse(t.time);
      Timer.builder("vmctl_node_phase_seconds")
          .description("Time between phases on a VM's first start")
          .tag("from", from)
          .tag("to", t.phase.name())
          .register(registry)
          .record(
              Duration.between(previous, at).isNegative()
                  ? Duration.ZERO
                  : Duration.between(previous, at));
      previous = at;
      from = t.phase.name();
      if (t.phase == VmPhase.Running) {
        break;
      }
    }
  }

  /** Stops watching hypervisor processes. */
  public void close() {
    watch.close();
  }

  /** The VMs of this host, from the informer cache (empty before the first reconcile). */
  public List<VirtualMachine> cachedVms() {
    var c = cache;
    return c == null ? List.of() : c.list().toList();
  }

  @Override
  public UpdateControl<VirtualMachine> reconcile(VirtualMachine vm, Context<VirtualMachine> context)
      throws Exception {
    cache = context.getPrimaryCache();
    Instant now = clock.instant();
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    Duration next;
    try (VmPass pass = new VmPass(vm, plan(vm), status, now, authorizedKeys(vm, now))) {
      next = pass(pass);
    }
    write(vm, status); // once per pass
    return next == null
        ? UpdateControl.noUpdate()
        : UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(next);
  }

  /** One pass: measure, decide, act. Returns when to look again (null: on the next event). */
  private Duration pass(VmPass pass) throws IOException {
    VirtualMachineStatus status = pass.status();
    HostObservation host = observe(pass);
    VmIntent intent = VmLifecycle.decide(pass.vm(), pass.plan(), host);
    if (intent.restartedAt() != null) {
      status.restartedAt = intent.restartedAt();
    }
    if (intent.countRestart()) {
      status.restartCount = (status.restartCount == null ? 0 : status.restartCount) + 1;
    }
    return switch (intent.power()) {
      case CLAIM_IDENTITY -> claimIdentity(pass, host);
      case HALT -> halt(pass);
      case STAY_POWERED_OFF -> {
        phase(pass, VmPhase.Stopped);
        condition(
            pass,
            ConditionTypes.READY,
            false,
            Reasons.GUEST_POWERED_OFF,
            "The guest powered itself off.");
        yield null;
      }
      case RESTART -> restart(pass, intent);
      case RECORD_CRASH -> recordCrash(pass, intent);
      case BACK_OFF -> Duration.between(pass.now(), intent.notBefore());
      case START -> start(pass, intent);
      case AWAIT_ADMISSION -> {
        phase(pass, VmPhase.Stopped);
        condition(
            pass,
            ConditionTypes.READY,
            false,
            Reasons.AWAITING_ADMISSION,
            "Waiting for the operator to grant this VM its vCPUs and memory on this host (see the"
                + " Scheduled condition); it starts as soon as they are granted.");
        yield null; // the grant is a status write, which is an event here
      }
      case RUN -> run(pass, intent);
    };
  }

  private HostObservation observe(VmPass pass) throws IOException {
    VmPlan plan = pass.plan();
    Remembered.Vm vm = remembered.of(plan.id());
    boolean running = hypervisor.isRunning(plan);
    return new HostObservation(
        !identity.needed(pass),
        running,
        BootRecord.size(plan),
        !running && poweredOffCleanly(plan),
        vm.lastStart != null ? vm.lastStart : BootRecord.started(plan, Instant.EPOCH),
        vm.crashes,
        vm.stopRequestedAt,
        pass.now());
  }

  /** Identity first, recorded before anything uses it: this pass ends with its status write. */
  private Duration claimIdentity(VmPass pass, HostObservation host) throws IOException {
    VirtualMachineStatus status = pass.status();
    if (host.running()) {
      // Another VM holds this address (a duplicate from before claims existed): it must not stay
      // reachable under it. Stop at once, take a fresh identity and boot again.
      hypervisor.stop(pass.plan(), Duration.ZERO);
    }
    String before = status.ipAddress;
    Long beforeCid = status.vsockCid;
    runner.ensure(identity, pass);
    if (before != null && !before.equals(status.ipAddress)) {
      events.warning(
          pass.vm(),
          Reasons.IDENTITY_CONFLICT,
          "Address "
              + before
              + " or vsock CID "
              + beforeCid
              + " belongs to another VM on this host; this VM now uses "
              + status.ipAddress
              + ".");
    }
    phase(pass, VmPhase.Provisioning);
    return Duration.ZERO;
  }

  /** Halted: keep volumes and address, no process. */
  private Duration halt(VmPass pass) throws IOException {
    if (stillStopping(pass)) {
      phase(pass, VmPhase.Stopping);
      return BOOT_POLL;
    }
    phase(pass, VmPhase.Stopped);
    condition(pass, ConditionTypes.READY, false, Reasons.HALTED, "runStrategy is Halted.");
    pass.status().observedGeneration = pass.vm().getMetadata().getGeneration();
    return null;
  }

  /** The restart annotation (kubectl rollout restart style): stop, and start in the next pass. */
  private Duration restart(VmPass pass, VmIntent intent) throws IOException {
    VmPlan plan = pass.plan();
    if (intent.countRestart()) {
      log.info(
          "restarting {}/{} as requested at {}",
          plan.namespace(),
          plan.name(),
          intent.restartedAt());
      events.normal(
          pass.vm(), Reasons.RESTARTING, "Restart requested at " + intent.restartedAt() + ".");
    }
    phase(pass, VmPhase.Stopping);
    return stillStopping(pass) ? BOOT_POLL : Duration.ZERO;
  }

  /** In status at once, before any backoff: nobody may take a dead VM for a ready one. */
  private Duration recordCrash(VmPass pass, VmIntent intent) {
    remembered.of(pass.plan().id()).crashes = intent.crash();
    phase(pass, VmPhase.Failed);
    condition(
        pass,
        ConditionTypes.READY,
        false,
        Reasons.HYPERVISOR_EXITED,
        "The hypervisor process exited unexpectedly; the VM is restarted (attempt "
            + intent.crash()
            + ").");
    Duration wait = Duration.between(pass.now(), intent.notBefore());
    return wait.isNegative() ? Duration.ZERO : wait;
  }

  private Duration start(VmPass pass, VmIntent intent) throws IOException {
    VmPlan plan = pass.plan();
    if (!provision(pass) || !handOver(pass)) {
      return RESYNC;
    }
    if (intent.crash() > 0) {
      events.warning(
          pass.vm(),
          Reasons.HYPERVISOR_EXITED,
          "The VM stopped unexpectedly; restarting it (attempt " + intent.crash() + ").");
      log.warn(
          "{}/{} stopped unexpectedly; restart {} (backoff {}s)",
          plan.namespace(),
          plan.name(),
          intent.crash(),
          VmLifecycle.backoff(intent.crash()).toSeconds());
    }
    events.normal(pass.vm(), Reasons.STARTING, "Booting the guest with " + hypervisor.kind() + ".");
    try {
      runner.ensure(hypervisorStep, pass);
    } catch (StepFailed e) {
      failed(pass, ConditionTypes.READY, Reasons.HYPERVISOR_START_FAILED, e.getMessage());
      return RESYNC;
    }
    phase(pass, VmPhase.Starting);
    condition(
        pass, ConditionTypes.READY, false, Reasons.BOOTING, "The hypervisor is booting the guest.");
    return BOOT_POLL; // the agent is looked for in the next passes, never waited for
  }

  private Duration run(VmPass pass, VmIntent intent) throws IOException {
    VirtualMachineStatus status = pass.status();
    if (!provision(pass)) {
      return RESYNC;
    }
    resize(pass, intent);
    runner.ensure(pause, pass);
    if (intent.paused()) {
      phase(pass, VmPhase.Paused);
      condition(pass, ConditionTypes.PAUSED, true, Reasons.PAUSED_BY_SPEC, "spec.paused is true.");
      status.observedGeneration = pass.vm().getMetadata().getGeneration();
      return RESYNC;
    }
    // From the measured state, not from this pass's action: a pass that resumed the VM and then
    // lost its status write to a conflict must not leave Paused=True behind.
    if (Conditions.isTrue(status.conditions, ConditionTypes.PAUSED)) {
      condition(pass, ConditionTypes.PAUSED, false, Reasons.RESUMED, "spec.paused is false.");
    }
    return guest(pass);
  }

  /**
   * What the guest gets in its root volume before it boots, written only while the hypervisor is
   * down (the guest owns a mounted filesystem): the SSH host key, whose public half goes into
   * status, and the seed (network, hostname, keys, token; decision 29). False (and a condition)
   * when either cannot be placed.
   */
  private boolean handOver(VmPass pass) throws IOException {
    try {
      runner.ensure(hostKeys, pass);
      runner.ensure(seed, pass);
    } catch (StepFailed e) {
      failed(pass, ConditionTypes.PROVISIONED, e.reason(), e.getMessage());
      return false;
    }
    pass.status().sshHostKeys = HostKeysStep.published(pass.plan().dir());
    return true;
  }

  /** Volumes and network, each step measured first; false (and a condition) when one fails. */
  private boolean provision(VmPass pass) throws IOException {
    Instant started = clock.instant();
    boolean acted = false;
    try {
      for (HostStep step : provisioning) {
        acted |= runner.ensure(step, pass);
      }
    } catch (StepFailed e) {
      // A missing image or a full pool: say so, and try again later (never a silent retry loop).
      failed(pass, ConditionTypes.PROVISIONED, e.reason(), e.getMessage());
      return false;
    }
    if (!Conditions.isTrue(pass.status().conditions, ConditionTypes.PROVISIONED)) {
      if (acted) {
        provisioningTime.record(Duration.between(started, clock.instant()));
      }
      VmPlan plan = pass.plan();
      condition(
          pass,
          ConditionTypes.PROVISIONED,
          true,
          Reasons.VOLUMES_AND_NETWORK_READY,
          "Root volume cloned from "
              + plan.image()
              + ", data volume and TAP "
              + plan.tap()
              + " ready.");
    }
    return true;
  }

  /** A changed size is applied live where the hypervisor can; otherwise it waits for a restart. */
  private void resize(VmPass pass, VmIntent intent) throws IOException {
    VmPlan plan = pass.plan();
    String wanted = VmLifecycle.size(plan);
    String booted = BootRecord.size(plan);
    if (intent.resize() && hypervisor.resize(plan)) {
      BootRecord.rewrite(plan, wanted);
      events.normal(
          pass.vm(), Reasons.RESIZED_LIVE, "Resized live from " + booted + " to " + wanted + ".");
      booted = wanted;
    }
    List<String> pending = new ArrayList<>();
    if (booted != null && !booted.equals(wanted)) {
      pending.add(
          "with "
              + booted
              + "; the spec asks for "
              + wanted
              + " ("
              + hypervisor.kind()
              + " cannot apply this live)");
    }
    String bootedDisks = BootRecord.disks(plan);
    String wantedDisks = VmLifecycle.disks(plan);
    if (bootedDisks != null && !bootedDisks.equals(wantedDisks)) {
      pending.add(
          "with "
              + bootedDisks
              + "; the volumes have grown to "
              + wantedDisks
              + " (the guest grows its filesystems at boot)");
    }
    if (!pending.isEmpty()) {
      condition(
          pass,
          ConditionTypes.RESTART_REQUIRED,
          true,
          Reasons.RESIZE_NEEDS_RESTART,
          "Running "
              + String.join(" and ", pending)
              + ". Restart the VM to apply it: ssh <gateway> restart "
              + plan.name()
              + ", or kubectl annotate vm "
              + plan.name()
              + " "
              + VirtualMachine.RESTARTED_AT_ANNOTATION
              + "=$(date -Iseconds) --overwrite.");
    } else if (Conditions.isTrue(pass.status().conditions, ConditionTypes.RESTART_REQUIRED)) {
      condition(
          pass,
          ConditionTypes.RESTART_REQUIRED,
          false,
          Reasons.SIZE_APPLIED,
          "The VM runs with the size in its spec.");
    }
  }

  /**
   * Guest configuration through the agent, once per boot; keys whenever they change. One short
   * attempt per pass: a guest still booting gets another pass in a second, so a delete or any other
   * VM's event is never stuck behind a boot.
   */
  private Duration guest(VmPass pass) throws IOException {
    VmPlan plan = pass.plan();
    VirtualMachineStatus status = pass.status();
    Instant bootStarted = BootRecord.started(plan, pass.now());
    Remembered.Vm memory = remembered.of(plan.id());
    Optional<String> token = GuestSeedStep.token(plan.dir());
    switch (SeedVerdict.judge(
        status.phase,
        token.isPresent(),
        token.isPresent()
            && ConsoleLog.containsLine(plan.consoleLog(), GuestSeed.readyLine(token.get())),
        bootStarted,
        memory.configuredAt,
        pass.now())) {
      case MARK_RUNNING -> {
        running(
            pass,
            Reasons.SSH_READY,
            "sshd in the guest listens with the seeded network and keys; the guest agent has"
                + " not answered yet.");
        return BOOT_POLL; // written now; the agent, which starts after the line, next pass
      }
      case WATCH_CONSOLE -> {
        return CONSOLE_POLL;
      }
      case ASK_AGENT -> {}
    }
    try {
      GuestAgent agent = agents.connect(plan, AGENT_PROBE);
      pass.connected(agent);
      pass.greeted(agent.hello());
    } catch (IOException e) {
      GuestVerdict verdict =
          GuestVerdict.judge(
              status.phase, false, false, bootStarted, memory.configuredAt, pass.now());
      if (verdict == GuestVerdict.BOOTING) {
        return BOOT_POLL; // still booting: look again in a moment
      }
      failed(
          pass,
          ConditionTypes.READY,
          Reasons.AGENT_UNREACHABLE,
          "The guest agent did not answer: " + e.getMessage());
      return RESYNC;
    }
    try {
      if (runner.ensure(guestConfig, pass)) {
        Duration boot = Duration.between(bootStarted, pass.now());
        bootToAgent.record(boot.isNegative() ? Duration.ZERO : boot);
        log.info(
            "{}/{} configured (boot {}), agent {} ms after the boot started",
            plan.namespace(),
            plan.name(),
            pass.hello().bootId(),
            Duration.between(bootStarted, pass.now()).toMillis());
      }
    } catch (StepFailed e) {
      failed(pass, ConditionTypes.READY, Reasons.GUEST_CONFIGURATION_FAILED, e.getMessage());
      return RESYNC;
    }
    applyKeysOrSayWhy(pass);
    GuestAgent.Hello hello = pass.hello();
    VirtualMachineStatus.GuestStatus guest =
        status.guest == null ? new VirtualMachineStatus.GuestStatus() : status.guest;
    guest.agentVersion = hello.agentVersion();
    guest.os = hello.os();
    guest.kernel = hello.kernel();
    guest.hostname = hello.hostname();
    guest.bootId = hello.bootId();
    // The HTTPS gateway serves the guest's web port from here when spec.http.port is unset.
    guest.listeningPorts = pass.agent().listeningPorts().stream().distinct().sorted().toList();
    status.guest = guest;
    GuestVerdict verdict =
        GuestVerdict.judge(
            status.phase,
            true,
            guest.listeningPorts.contains(22),
            bootStarted,
            memory.configuredAt,
            pass.now());
    if (verdict == GuestVerdict.WAITING_FOR_SSH) {
      return BOOT_POLL; // Ready means reachable: sshd starts after the agent
    }
    running(pass, Reasons.AGENT_CONNECTED, "The guest agent answered and the guest is configured.");
    return RESYNC;
  }

  /** Running and Ready; the Running event once per boot, the phase timings once per VM. */
  private void running(VmPass pass, String reason, String message) {
    VirtualMachineStatus status = pass.status();
    boolean firstRun = status.phaseTransitions.stream().noneMatch(t -> t.phase == VmPhase.Running);
    if (status.phase != VmPhase.Running) {
      events.normal(pass.vm(), Reasons.RUNNING, message);
    }
    phase(pass, VmPhase.Running);
    if (firstRun) {
      recordPhaseTimings(pass.vm(), status);
    }
    status.observedGeneration = pass.vm().getMetadata().getGeneration();
    condition(pass, ConditionTypes.READY, true, reason, message);
  }

  /**
   * A guest that refuses the keys (a full disk, a broken image) must not hold the VM in Starting:
   * the VM goes on with a KeysApplied=False condition and one Warning event saying why.
   */
  private void applyKeysOrSayWhy(VmPass pass) throws IOException {
    try {
      if (runner.ensure(keys, pass)) {
        log.info(
            "{}/{}: {} authorised keys installed",
            pass.plan().namespace(),
            pass.plan().name(),
            pass.keys().size());
      }
      if (Conditions.find(pass.status().conditions, ConditionTypes.KEYS_APPLIED).isPresent()) {
        condition(
            pass,
            ConditionTypes.KEYS_APPLIED,
            true,
            Reasons.KEYS_INSTALLED,
            pass.keys().size() + " SSH keys are installed.");
      }
    } catch (StepFailed e) {
      failed(pass, ConditionTypes.KEYS_APPLIED, e.reason(), e.getMessage());
    }
  }

  /** A phase change, at the time it happens (a pass may provision for seconds before it). */
  private void phase(VmPass pass, VmPhase phase) {
    Phases.set(pass.status(), phase, clock.instant());
  }

  private void condition(VmPass pass, String type, boolean value, String reason, String message) {
    pass.status().conditions =
        Conditions.set(
            pass.status().conditions,
            type,
            value,
            reason,
            message,
            pass.vm().getMetadata().getGeneration(),
            clock.instant());
  }

  /**
   * A failure as a condition ({@code type}=False with {@code reason}) and one Warning event per
   * reason: a failure that persists over many passes does not repeat its event.
   */
  private void failed(VmPass pass, String type, String reason, String message) {
    if (!Conditions.sameReason(pass.status().conditions, type, reason)) {
      events.warning(pass.vm(), reason, message);
    }
    condition(pass, type, false, reason, message);
  }

  /**
   * Whether the guest is still on its way down. Asks it to power off through the agent once and
   * gives it the grace period over later passes; a guest whose agent does not answer would not
   * power off either, and one past its grace is stopped at once. Never waits.
   */
  private boolean stillStopping(VmPass pass) throws IOException {
    VmPlan plan = pass.plan();
    Remembered.Vm memory = remembered.of(plan.id());
    if (!hypervisor.isRunning(plan)) {
      memory.stopRequestedAt = null;
      return false;
    }
    if (memory.stopRequestedAt == null) {
      try (GuestAgent agent = agents.connect(plan, AGENT_PROBE)) {
        agent.shutdown();
        memory.stopRequestedAt = pass.now();
        log.info("{}/{}: asked the guest to power off", plan.namespace(), plan.name());
        return true;
      } catch (IOException e) {
        log.info(
            "{}: agent shutdown not possible ({}); stopping the hypervisor",
            plan.name(),
            e.getMessage());
      }
    } else if (pass.now().isBefore(memory.stopRequestedAt.plus(SHUTDOWN_GRACE))) {
      return true;
    }
    hypervisor.stop(plan, Duration.ZERO);
    memory.stopRequestedAt = null;
    memory.forgetBoot();
    return hypervisor.isRunning(plan);
  }

  @Override
  public DeleteControl cleanup(VirtualMachine vm, Context<VirtualMachine> context)
      throws Exception {
    Instant now = clock.instant();
    VmPlan plan = plan(vm);
    if (vm.getStatus() != null && vm.getStatus().phase != VmPhase.Terminating) {
      log.info("cleaning up {}/{}", plan.namespace(), plan.name());
      VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
      Phases.set(status, VmPhase.Terminating, now);
      try {
        write(vm, status);
      } catch (RuntimeException e) {
        // best effort; the cleanup itself matters
      }
    }
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    try (VmPass pass = new VmPass(vm, plan, status, now, List.of())) {
      if (stillStopping(pass)) {
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(BOOT_POLL);
      }
      List<HostStep> steps = allSteps();
      runner.removeAll(steps.subList(1, steps.size()), pass); // hypervisor, TAP, volumes …
      Trees.delete(plan.dir());
      identity.remove(pass); // last: nothing uses the address any more
    }
    remembered.forget(plan.id());
    return DeleteControl.defaultDelete();
  }

  /** The User that owns the VM (Ownership: the one whose namespace holds it), if any. */
  private User owner(VirtualMachine vm) {
    if (users == null) {
      return null;
    }
    String named = vm.getSpec().owner;
    List<User> candidates =
        named != null
            ? users.get(new ResourceID(named)).stream().toList()
            : users
                .list(
                    u ->
                        u.getStatus() != null
                            && vm.getMetadata().getNamespace().equals(u.getStatus().namespace))
                .toList();
    return Ownership.ownerAmong(vm, candidates).orElse(null);
  }

  private List<String> authorizedKeys(VirtualMachine vm, Instant now) {
    User ownerUser = owner(vm);
    List<User> sharedWith = new ArrayList<>();
    if (shares != null && users != null) {
      Set<String> emails =
          shares
              .list(
                  vm.getMetadata().getNamespace(),
                  s -> s.getSpec().email != null && ShareTerms.inForce(s, vm, now))
              .map(s -> ShareTerms.normaliseEmail(s.getSpec().email))
              .collect(Collectors.toSet());
      if (!emails.isEmpty()) {
        users
            .list(
                u ->
                    u.getSpec() != null
                        && emails.contains(ShareTerms.normaliseEmail(u.getSpec().email)))
            .forEach(sharedWith::add);
      }
    }
    return AuthorizedKeys.desired(vm, ownerUser, sharedWith, gatewayKeys.current());
  }

  /**
   * Users and Shares are watched so that a new key or Share reaches the guest within seconds: a
   * Share maps to its VM, a User to the VMs it owns or has an email Share of.
   */
  @Override
  public List<EventSource<?, VirtualMachine>> prepareEventSources(
      EventSourceContext<VirtualMachine> context) {
    var vms = context.getPrimaryCache();
    shares =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Share.class, VirtualMachine.class)
                .withName("node-shares")
                .withSecondaryToPrimaryMapper(
                    s -> Set.of(new ResourceID(s.getSpec().vm, s.getMetadata().getNamespace())))
                .build(),
            context);
    users =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(User.class, VirtualMachine.class)
                .withName("node-users")
                .withSecondaryToPrimaryMapper(
                    u -> {
                      String email = ShareTerms.normaliseEmail(u.getSpec().email);
                      Set<ResourceID> affected =
                          vms.list()
                              .filter(vm -> u.getMetadata().getName().equals(vm.getSpec().owner))
                              .map(ResourceID::fromResource)
                              .collect(Collectors.toSet());
                      shares
                          .list(s -> email.equals(ShareTerms.normaliseEmail(s.getSpec().email)))
                          .forEach(
                              s ->
                                  affected.add(
                                      new ResourceID(
                                          s.getSpec().vm, s.getMetadata().getNamespace())));
                      return affected;
                    })
                .build(),
            context);
    @SuppressWarnings({"unchecked", "rawtypes"})
    EventSource<?, VirtualMachine> timer = (EventSource) wakeUps;
    return List.of(shares, users, timer);
  }

  /** A guest that powered itself off leaves this line on the serial console. */
  private static boolean poweredOffCleanly(VmPlan plan) {
    try {
      return Files.exists(plan.consoleLog())
          && Files.readString(plan.consoleLog()).contains("reboot: Power down");
    } catch (IOException e) {
      return false;
    }
  }

  /** This host's VMs from the API server itself: the informer cache may lag behind a claim. */
  private List<Identities.Holder> hostVmsFromApiServer() {
    return client
        .resources(VirtualMachine.class)
        .inAnyNamespace()
        .withField(NodeDaemon.NODE_NAME_FIELD, config.hostName())
        .list()
        .getItems()
        .stream()
        .map(
            v ->
                new Identities.Holder(
                    v.getMetadata().getUid(),
                    v.getStatus() == null ? null : v.getStatus().ipAddress,
                    v.getStatus() == null ? null : v.getStatus().vsockCid))
        .toList();
  }

  private void write(VirtualMachine vm, VirtualMachineStatus status) {
    if (VmStatuses.same(vm.getStatus(), status)) {
      return;
    }
    vm.setStatus(status);
    VirtualMachine updated = client.resource(vm).updateStatus();
    vm.getMetadata().setResourceVersion(updated.getMetadata().getResourceVersion());
    vm.setStatus(VmStatuses.copy(status));
  }
}
