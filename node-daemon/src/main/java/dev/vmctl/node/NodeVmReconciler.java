package dev.vmctl.node;

import dev.vmctl.agent.client.AgentClient;
import dev.vmctl.api.access.Ownership;
import dev.vmctl.api.access.ShareTerms;
import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.identity.Identities;
import dev.vmctl.node.model.AuthorizedKeys;
import dev.vmctl.node.model.VmPlan;
import dev.vmctl.node.model.VmPlanner;
import dev.vmctl.node.net.Network;
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
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each VM scheduled to this host into host state, in idempotent steps that each measure
 * before acting: identity (IP, MAC, vsock CID, recorded in status before use), volumes, TAP,
 * hypervisor process, guest configuration through the agent. Owns the vmctl.dev/node-cleanup
 * finalizer, so nothing is left behind when a VM is deleted.
 */
// Not generation-aware: the restart annotation and our own status must trigger reconciles too.
@ControllerConfiguration(
    name = "node-vms",
    finalizerName = VirtualMachine.NODE_FINALIZER,
    generationAwareEventProcessing = false)
public class NodeVmReconciler implements Reconciler<VirtualMachine>, Cleaner<VirtualMachine> {
  private static final Logger log = LoggerFactory.getLogger(NodeVmReconciler.class);
  static final Duration RESYNC = Duration.ofSeconds(15);
  static final Duration AGENT_WAIT =
      Duration.ofSeconds(Long.getLong("vmctl.agentWaitSeconds", 300));
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(30);
  static final Duration SSH_WAIT = Duration.ofSeconds(90);

  /** How long one attempt to reach the agent may take; a booting guest is tried every BOOT_POLL. */
  static final Duration AGENT_PROBE = Duration.ofSeconds(3);

  static final Duration BOOT_POLL = Duration.ofSeconds(1);

  private final KubernetesClient client;
  private final NodeConfig config;
  private final Storage storage;
  private final Network network;
  private final Hypervisor hypervisor;
  private final Identities identities;
  private final Map<String, String> configuredBoot = new ConcurrentHashMap<>();
  private final Map<String, List<String>> appliedKeys = new ConcurrentHashMap<>();
  private final GatewayKeys gatewayKeys;
  private volatile InformerEventSource<Share, VirtualMachine> shares;
  private final TimerEventSource<VirtualMachine> wakeUps =
      new TimerEventSource<>("node-wake-ups", false);
  private final HypervisorWatch watch;
  private volatile InformerEventSource<User, VirtualMachine> users;
  private final Map<String, Instant> lastStart = new ConcurrentHashMap<>();
  private final Map<String, Instant> configuredAt = new ConcurrentHashMap<>();
  private final Map<String, Integer> crashes = new ConcurrentHashMap<>();
  private final Timer bootToAgent;
  private final EventRecorder events;
  private final MeterRegistry registry;
  private final Timer provisioning;
  private volatile io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache<VirtualMachine>
      cache;

  public NodeVmReconciler(
      KubernetesClient client,
      NodeConfig config,
      Storage storage,
      Network network,
      Hypervisor hypervisor,
      Identities identities,
      MeterRegistry registry) {
    this.client = client;
    this.config = config;
    this.storage = storage;
    this.network = network;
    this.hypervisor = hypervisor;
    this.identities = identities;
    this.gatewayKeys =
        new GatewayKeys(client, config.gatewayNamespace(), RESYNC, java.time.Clock.systemUTC());
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
            vm -> hypervisor.isRunning(VmPlanner.plan(vm, config.stateDir(), config.subnet())),
            vm -> wakeUps.scheduleOnce(ResourceID.fromResource(vm), 0),
            Long.getLong("vmctl.watchMillis", 500));
    this.provisioning =
        Timer.builder("vmctl_node_provisioning")
            .description("Volumes and TAP for a new VM")
            .register(registry);
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
    VmPlan plan = VmPlanner.plan(vm, config.stateDir(), config.subnet());
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    Long generation = vm.getMetadata().getGeneration();

    // 1. Identity, claimed and recorded before anything uses it, so it survives any crash.
    if (!identityHeld(vm, status)) {
      if (hypervisor.isRunning(plan)) {
        // Another VM holds this address (a duplicate from before claims existed): it must not stay
        // reachable under it. Stop, take a fresh identity and boot again.
        stopGuest(plan);
      }
      Identities.Identity identity =
          identities.reserve(vm.getMetadata().getUid(), this::hostVmsFromApiServer);
      if (status.ipAddress != null && !status.ipAddress.equals(identity.ip())) {
        events.warning(
            vm,
            "IdentityConflict",
            "Address "
                + status.ipAddress
                + " or vsock CID "
                + status.vsockCid
                + " belongs to another VM on this host; this VM now uses "
                + identity.ip()
                + ".");
      }
      status.ipAddress = identity.ip();
      status.macAddress = identity.mac();
      status.vsockCid = identity.cid();
      Phases.set(status, VmPhase.Provisioning, Instant.now());
      write(vm, status); // recorded before use: a crash after this reuses the same identity
      plan = VmPlanner.plan(vm, config.stateDir(), config.subnet()); // now with the identity
    }

    // 2. Halted: keep volumes and address, no process.
    if (vm.getSpec().runStrategy == RunStrategy.Halted) {
      if (hypervisor.isRunning(plan)) {
        Phases.set(status, VmPhase.Stopping, Instant.now());
        write(vm, status);
        stopGuest(plan);
      }
      Phases.set(status, VmPhase.Stopped, Instant.now());
      status.conditions =
          Conditions.set(
              status.conditions,
              "Ready",
              false,
              "Halted",
              "runStrategy is Halted.",
              generation,
              Instant.now());
      write(vm, status);
      return UpdateControl.noUpdate();
    }

    // 3. Volumes and network: each ensure measures first.
    Instant provisionStart = Instant.now();
    String root;
    String data;
    try {
      root = storage.ensureRoot(plan);
      data = storage.ensureData(plan);
      network.ensureBridge();
      network.ensureTap(plan.tap());
    } catch (IOException e) {
      // A missing image or a full pool: say so, and try again later (never a silent retry loop).
      failed(
          vm,
          status,
          "Provisioned",
          "ProvisioningFailed",
          "Provisioning failed: " + e.getMessage());
      write(vm, status);
      return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(RESYNC);
    }
    if (!Conditions.isTrue(status.conditions, "Provisioned")) {
      provisioning.record(Duration.between(provisionStart, Instant.now()));
      status.conditions =
          Conditions.set(
              status.conditions,
              "Provisioned",
              true,
              "VolumesAndNetworkReady",
              "Root volume cloned from "
                  + plan.image()
                  + ", data volume and TAP "
                  + plan.tap()
                  + " ready.",
              generation,
              Instant.now());
    }

    // 4. Restart requested by annotation (kubectl rollout restart style).
    String requested = annotation(vm, VirtualMachine.RESTARTED_AT_ANNOTATION);
    boolean running = hypervisor.isRunning(plan);
    if (requested != null && !requested.equals(status.restartedAt)) {
      if (running) {
        log.info("restarting {}/{} as requested at {}", plan.namespace(), plan.name(), requested);
        events.normal(vm, "Restarting", "Restart requested at " + requested + ".");
        Phases.set(status, VmPhase.Stopping, Instant.now());
        write(vm, status);
        stopGuest(plan);
        running = false;
        status.restartCount = (status.restartCount == null ? 0 : status.restartCount) + 1;
      }
      status.restartedAt = requested;
    }

    // 5. Hypervisor process: adopt a running one, otherwise start (crash restarts back off).
    if (!running) {
      // Failed: a crash already recorded, waiting out its backoff.
      boolean wasUp =
          status.phase == VmPhase.Running
              || status.phase == VmPhase.Paused
              || status.phase == VmPhase.Failed;
      if (wasUp && crashedCleanly(plan) && vm.getSpec().runStrategy == RunStrategy.RerunOnFailure) {
        Phases.set(status, VmPhase.Stopped, Instant.now());
        status.conditions =
            Conditions.set(
                status.conditions,
                "Ready",
                false,
                "GuestPoweredOff",
                "The guest powered itself off.",
                generation,
                Instant.now());
        write(vm, status);
        return UpdateControl.noUpdate();
      }
      if (wasUp) {
        // One crash counts once, however many passes wait out its backoff.
        boolean newCrash = status.phase != VmPhase.Failed;
        int n =
            newCrash
                ? crashes.merge(plan.id(), 1, Integer::sum)
                : crashes.getOrDefault(plan.id(), 1);
        Duration backoff = Duration.ofSeconds(Math.min(300, 1L << Math.min(8, n - 1)));
        Instant last = lastStart.getOrDefault(plan.id(), Instant.EPOCH);
        // In status at once, before any backoff: nobody may take a dead VM for a ready one.
        Phases.set(status, VmPhase.Failed, Instant.now());
        status.conditions =
            Conditions.set(
                status.conditions,
                "Ready",
                false,
                "HypervisorExited",
                "The hypervisor process exited unexpectedly; the VM is restarted (attempt "
                    + n
                    + ").",
                generation,
                Instant.now());
        write(vm, status);
        if (Instant.now().isBefore(last.plus(backoff))) {
          return UpdateControl.<VirtualMachine>noUpdate()
              .rescheduleAfter(Duration.between(Instant.now(), last.plus(backoff)));
        }
        status.restartCount = (status.restartCount == null ? 0 : status.restartCount) + 1;
        events.warning(
            vm,
            "HypervisorExited",
            "The VM stopped unexpectedly; restarting it (attempt " + n + ").");
        log.warn(
            "{}/{} stopped unexpectedly; restart {} (backoff {}s)",
            plan.namespace(),
            plan.name(),
            n,
            backoff.toSeconds());
      }
      events.normal(vm, "Starting", "Booting the guest with " + hypervisor.kind() + ".");
      Phases.set(status, VmPhase.Starting, Instant.now());
      status.conditions =
          Conditions.set(
              status.conditions,
              "Ready",
              false,
              "Booting",
              "The hypervisor is booting the guest.",
              generation,
              Instant.now());
      write(vm, status);
      Files.deleteIfExists(plan.consoleLog());
      hypervisor.start(plan, root, data);
      Files.writeString(plan.dir().resolve("booted-with"), bootedWith(plan));
      lastStart.put(plan.id(), Instant.now());
      configuredBoot.remove(plan.id());
      appliedKeys.remove(plan.id());
    }

    // Resize: QEMU microvm cannot hot-plug CPUs or memory, so a changed size waits for a restart.
    String booted =
        Files.exists(plan.dir().resolve("booted-with"))
            ? Files.readString(plan.dir().resolve("booted-with"))
            : bootedWith(plan);
    if (!booted.equals(bootedWith(plan)) && hypervisor.resize(plan)) {
      Files.writeString(plan.dir().resolve("booted-with"), bootedWith(plan));
      booted = bootedWith(plan);
    }
    if (!booted.equals(bootedWith(plan))) {
      status.conditions =
          Conditions.set(
              status.conditions,
              "RestartRequired",
              true,
              "ResizeNeedsRestart",
              "Running with "
                  + booted
                  + "; the spec asks for "
                  + bootedWith(plan)
                  + ". "
                  + hypervisor.kind()
                  + " cannot apply this live: restart the VM (kubectl annotate vm "
                  + plan.name()
                  + " "
                  + VirtualMachine.RESTARTED_AT_ANNOTATION
                  + "=$(date -Iseconds) --overwrite).",
              generation,
              Instant.now());
    } else if (Conditions.isTrue(status.conditions, "RestartRequired")) {
      status.conditions =
          Conditions.set(
              status.conditions,
              "RestartRequired",
              false,
              "SizeApplied",
              "The VM runs with the size in its spec.",
              generation,
              Instant.now());
    }

    // 6. Paused.
    if (Boolean.TRUE.equals(vm.getSpec().paused)) {
      if (!hypervisor.isPaused(plan)) {
        hypervisor.pause(plan);
      }
      Phases.set(status, VmPhase.Paused, Instant.now());
      status.conditions =
          Conditions.set(
              status.conditions,
              "Paused",
              true,
              "PausedBySpec",
              "spec.paused is true.",
              generation,
              Instant.now());
      status.observedGeneration = generation;
      write(vm, status);
      return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(RESYNC);
    } else {
      if (hypervisor.isPaused(plan)) {
        hypervisor.resume(plan);
      }
      // From the measured state, not from this pass's action: a pass that resumed the VM and
      // then lost its status write to a conflict must not leave Paused=True behind.
      if (Conditions.isTrue(status.conditions, "Paused")) {
        status.conditions =
            Conditions.set(
                status.conditions,
                "Paused",
                false,
                "Resumed",
                "spec.paused is false.",
                generation,
                Instant.now());
      }
    }

    // 7. Guest configuration through the agent, once per boot; keys whenever they change. Never
    // waits on the guest: one short attempt per pass, and a guest still booting gets another pass
    // in a second, so a delete or any other VM's event is never stuck behind a boot.
    List<String> keys = authorizedKeys(vm);
    Instant bootStarted = bootStarted(plan);
    try (AgentClient agent =
        AgentClient.connectHybridVsock(plan.vsockSocket(), AgentClient.AGENT_PORT, AGENT_PROBE)) {
      AgentClient.Hello hello = agent.hello(AGENT_PROBE);
      if (!hello.bootId().equals(configuredBoot.get(plan.id()))) {
        bootToAgent.record(Duration.between(bootStarted, Instant.now()));
        agent.configureNetwork(
            status.ipAddress + "/" + plan.prefix(), plan.gateway(), List.of(), 1500, plan.mac());
        agent.setHostname(plan.name());
        appliedKeys.remove(plan.id()); // a new boot: install the keys again below
        configuredBoot.put(plan.id(), hello.bootId());
        configuredAt.put(plan.id(), Instant.now());
        crashes.remove(plan.id());
        log.info(
            "{}/{} configured (boot {}), agent {} ms after the boot started",
            plan.namespace(),
            plan.name(),
            hello.bootId(),
            Duration.between(bootStarted, Instant.now()).toMillis());
      }
      // Keys change without a reboot (a key added, a Share created or expired): measure, act.
      applyKeysOrSayWhy(agent, plan, vm, keys, status, generation);
      VirtualMachineStatus.GuestStatus guest =
          status.guest == null ? new VirtualMachineStatus.GuestStatus() : status.guest;
      guest.agentVersion = hello.agentVersion();
      guest.os = hello.os();
      guest.kernel = hello.kernel();
      guest.hostname = hello.hostname();
      guest.bootId = hello.bootId();
      // The HTTPS gateway serves the guest's web port from here when spec.http.port is unset.
      guest.listeningPorts = agent.ports().stream().distinct().sorted().toList();
      status.guest = guest;
      // Ready means reachable: sshd starts after the agent; give it SSH_WAIT, then go on anyway.
      Instant configured = configuredAt.getOrDefault(plan.id(), Instant.now());
      if (!guest.listeningPorts.contains(22)
          && status.phase != VmPhase.Running
          && Instant.now().isBefore(configured.plus(SSH_WAIT))) {
        write(vm, status);
        return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(BOOT_POLL);
      }
    } catch (IOException e) {
      if (status.phase == VmPhase.Starting
          && Instant.now().isBefore(bootStarted.plus(AGENT_WAIT))) {
        write(vm, status); // still booting: look again in a moment
        return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(BOOT_POLL);
      }
      failed(
          vm,
          status,
          "Ready",
          "AgentUnreachable",
          "The guest agent did not answer: " + e.getMessage());
      write(vm, status);
      return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(RESYNC);
    }
    boolean firstRun = status.phaseTransitions.stream().noneMatch(t -> t.phase == VmPhase.Running);
    if (status.phase != VmPhase.Running) {
      events.normal(
          vm, "Running", "The guest agent answered; the guest is configured and reachable.");
    }
    Phases.set(status, VmPhase.Running, Instant.now());
    if (firstRun) {
      recordPhaseTimings(vm, status);
    }
    status.observedGeneration = generation;
    status.conditions =
        Conditions.set(
            status.conditions,
            "Ready",
            true,
            "AgentConnected",
            "The guest agent answered and the guest is configured.",
            generation,
            Instant.now());
    write(vm, status);
    return UpdateControl.<VirtualMachine>noUpdate().rescheduleAfter(RESYNC);
  }

  /** When this VM's current boot started (the file survives daemon restarts). */
  private static Instant bootStarted(VmPlan plan) {
    try {
      return Files.getLastModifiedTime(plan.dir().resolve("booted-with")).toInstant();
    } catch (IOException e) {
      return Instant.now();
    }
  }

  private static String bootedWith(VmPlan plan) {
    return plan.cpus() + " CPUs and " + (plan.memoryBytes() >> 20) + "Mi";
  }

  /**
   * A guest that refuses the keys (a full disk, a broken image) must not hold the VM in Starting:
   * the VM goes on with a KeysApplied=False condition and one Warning event saying why.
   */
  private void applyKeysOrSayWhy(
      AgentClient agent,
      VmPlan plan,
      VirtualMachine vm,
      List<String> keys,
      VirtualMachineStatus status,
      Long generation)
      throws IOException {
    try {
      applyKeys(agent, plan, vm, keys);
      if (Conditions.find(status.conditions, "KeysApplied").isPresent()) {
        status.conditions =
            Conditions.set(
                status.conditions,
                "KeysApplied",
                true,
                "Installed",
                keys.size() + " SSH keys are installed.",
                generation,
                Instant.now());
      }
    } catch (AgentClient.AgentError e) {
      failed(
          vm,
          status,
          "KeysApplied",
          "KeysRejected",
          "The guest refused the SSH keys: " + e.getMessage());
    }
  }

  /**
   * A failure as a condition ({@code type}=False with {@code reason}) and one Warning event per
   * reason: a failure that persists over many passes does not repeat its event.
   */
  private void failed(
      VirtualMachine vm, VirtualMachineStatus status, String type, String reason, String message) {
    if (!Conditions.sameReason(status.conditions, type, reason)) {
      events.warning(vm, reason, message);
    }
    status.conditions =
        Conditions.set(
            status.conditions,
            type,
            false,
            reason,
            message,
            vm.getMetadata().getGeneration(),
            Instant.now());
  }

  /** Installs the keys when they differ from what this boot last got. */
  private void applyKeys(AgentClient agent, VmPlan plan, VirtualMachine vm, List<String> keys)
      throws IOException {
    if (!keys.equals(appliedKeys.get(plan.id()))) {
      agent.setAuthorizedKeys(config.sshUser(), keys);
      appliedKeys.put(plan.id(), keys);
      log.info("{}/{}: {} authorised keys installed", plan.namespace(), plan.name(), keys.size());
    }
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

  private List<String> authorizedKeys(VirtualMachine vm) {
    User ownerUser = owner(vm);
    List<User> sharedWith = new ArrayList<>();
    if (shares != null && users != null) {
      Instant now = Instant.now();
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
  private static boolean crashedCleanly(VmPlan plan) {
    try {
      return Files.exists(plan.consoleLog())
          && Files.readString(plan.consoleLog()).contains("reboot: Power down");
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Asks the guest to power off through the agent and gives it the grace period; a guest whose
   * agent does not answer would not power off either, so the hypervisor is stopped at once.
   */
  private void stopGuest(VmPlan plan) throws IOException {
    Duration grace = Duration.ZERO;
    try (AgentClient agent =
        AgentClient.connectHybridVsock(
            plan.vsockSocket(), AgentClient.AGENT_PORT, Duration.ofSeconds(3))) {
      agent.shutdown();
      grace = SHUTDOWN_GRACE;
    } catch (IOException e) {
      log.info(
          "{}: agent shutdown not possible ({}); stopping the hypervisor",
          plan.name(),
          e.getMessage());
    }
    hypervisor.stop(plan, grace);
    configuredBoot.remove(plan.id());
    appliedKeys.remove(plan.id());
  }

  @Override
  public DeleteControl cleanup(VirtualMachine vm, Context<VirtualMachine> context)
      throws Exception {
    VmPlan plan = VmPlanner.plan(vm, config.stateDir(), config.subnet());
    log.info("cleaning up {}/{}", plan.namespace(), plan.name());
    if (vm.getStatus() != null && vm.getStatus().phase != VmPhase.Terminating) {
      VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
      Phases.set(status, VmPhase.Terminating, Instant.now());
      try {
        write(vm, status);
      } catch (RuntimeException e) {
        // best effort; the cleanup itself matters
      }
    }
    if (hypervisor.isRunning(plan)) {
      stopGuest(plan);
    } else {
      hypervisor.stop(plan, Duration.ZERO); // ends a leftover vhost-device-vsock too
    }
    network.removeTap(plan.tap());
    storage.remove(plan);
    deleteTree(plan.dir());
    identities.release(vm.getMetadata().getUid()); // last: nothing uses the address any more
    configuredBoot.remove(plan.id());
    appliedKeys.remove(plan.id());
    lastStart.remove(plan.id());
    configuredAt.remove(plan.id());
    crashes.remove(plan.id());
    return DeleteControl.defaultDelete();
  }

  /**
   * Whether the identity in status is this VM's claim (adopting one recorded before claims
   * existed). False when it has none, or when another VM holds its address or CID.
   */
  private boolean identityHeld(VirtualMachine vm, VirtualMachineStatus status) throws IOException {
    return status.ipAddress != null
        && status.macAddress != null
        && status.vsockCid != null
        && config.subnet().contains(status.ipAddress)
        && identities.adopt(vm.getMetadata().getUid(), status.ipAddress, status.vsockCid);
  }

  /** This host's VMs from the API server itself: the informer cache may lag behind a claim. */
  private List<Identities.Holder> hostVmsFromApiServer() {
    return client
        .resources(VirtualMachine.class)
        .inAnyNamespace()
        .withLabel(VirtualMachine.NODE_LABEL, config.hostName())
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

  private static String annotation(VirtualMachine vm, String key) {
    Map<String, String> a = vm.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
