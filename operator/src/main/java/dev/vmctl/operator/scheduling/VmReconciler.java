package dev.vmctl.operator.scheduling;

import dev.vmctl.api.access.Ownership;
import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.Image;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.operator.OperatorConfig;
import dev.vmctl.operator.model.Amounts;
import dev.vmctl.operator.model.Demand;
import dev.vmctl.operator.model.HostView;
import dev.vmctl.operator.model.Placement;
import dev.vmctl.operator.model.QuotaCheck;
import dev.vmctl.operator.model.Resize;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.timer.TimerEventSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Schedules VirtualMachines onto Hosts, enforces Quotas, and marks VMs on lost hosts Unknown. Runs
 * only on the leader. Owns no finalizer: it sees deletions through all-events triggering and
 * releases a VM's reservation only once the VM is really gone (after the node daemon's finalizer
 * let go).
 */
@ControllerConfiguration(name = "vm-scheduler", triggerReconcilerOnAllEvents = true)
public class VmReconciler implements Reconciler<VirtualMachine> {
  private static final Logger log = LoggerFactory.getLogger(VmReconciler.class);
  static final String SCHEDULED = "Scheduled";
  static final String NODE_LOST = "NodeLost";

  private final KubernetesClient client;
  private final OperatorConfig config;
  private final Ledger ledger;
  private final BooleanSupplier lostLeadership;
  private final Clock clock;
  private final EventRecorder events;
  private final Timer schedulingLatency;
  private volatile boolean ledgerLoaded;
  private InformerEventSource<Host, VirtualMachine> hosts;
  private InformerEventSource<Quota, VirtualMachine> quotas;
  private InformerEventSource<User, VirtualMachine> users;
  private InformerEventSource<Image, VirtualMachine> images;
  private final TimerEventSource<VirtualMachine> wakeUps =
      new TimerEventSource<>("wake-ups", false);
  private final Set<String> lostHosts = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private ScheduledExecutorService monitor;
  private io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache<VirtualMachine>
      vmCache;

  public VmReconciler(
      KubernetesClient client,
      OperatorConfig config,
      Ledger ledger,
      Clock clock,
      MeterRegistry registry,
      BooleanSupplier lostLeadership) {
    this.client = client;
    this.lostLeadership = lostLeadership;
    this.config = config;
    this.ledger = ledger;
    this.clock = clock;
    this.events = new EventRecorder(client, "vmctl-operator");
    this.schedulingLatency =
        Timer.builder("vmctl_scheduling_latency")
            .description("From VM creation to the Scheduled status being written")
            .publishPercentileHistogram()
            .register(registry);
    registry.gauge("vmctl_reservations", ledger, Ledger::size);
    for (VmPhase phase : VmPhase.values()) {
      io.micrometer.core.instrument.Gauge.builder("vmctl_vms", this, r -> r.countPhase(phase))
          .description("VirtualMachines by phase")
          .tag("phase", phase.name())
          .register(registry);
    }
    io.micrometer.core.instrument.Gauge.builder(
            "vmctl_scheduling_queue_depth", this, r -> r.pendingCount(null))
        .description("VMs waiting to be scheduled")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder(
            "vmctl_unschedulable_vms", this, r -> r.pendingCount("Unschedulable"))
        .description("VMs no host can take right now")
        .register(registry);
  }

  private double countPhase(VmPhase phase) {
    return vmCache == null
        ? 0
        : vmCache
            .list()
            .filter(vm -> vm.getStatus() != null && vm.getStatus().phase == phase)
            .count();
  }

  private double pendingCount(String reason) {
    if (vmCache == null) {
      return 0;
    }
    return vmCache
        .list()
        .filter(vm -> vm.getStatus() == null || vm.getStatus().nodeName == null)
        .filter(
            vm ->
                reason == null
                    || (vm.getStatus() != null
                        && Conditions.sameReason(vm.getStatus().conditions, SCHEDULED, reason)))
        .count();
  }

  @Override
  public List<EventSource<?, VirtualMachine>> prepareEventSources(
      EventSourceContext<VirtualMachine> context) {
    vmCache = context.getPrimaryCache();
    vmCache.addIndexer(
        "byNode",
        vm ->
            vm.getStatus() != null && vm.getStatus().nodeName != null
                ? List.of(vm.getStatus().nodeName)
                : List.of());
    vmCache.addIndexer(
        "pendingByNamespace",
        vm ->
            vm.getStatus() == null || vm.getStatus().nodeName == null
                ? List.of(vm.getMetadata().getNamespace())
                : List.of());
    hosts =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Host.class, VirtualMachine.class)
                .withName("hosts")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(
                    host -> {
                      Set<ResourceID> ids = pending(null);
                      vmCache
                          .byIndex("byNode", host.getMetadata().getName())
                          .forEach(vm -> ids.add(ResourceID.fromResource(vm)));
                      return ids;
                    })
                .build(),
            context);
    quotas =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Quota.class, VirtualMachine.class)
                .withName("quotas")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(q -> pending(q.getMetadata().getNamespace()))
                .build(),
            context);
    users =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(User.class, VirtualMachine.class)
                .withName("users")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(
                    u -> {
                      // A User's own namespace, and VMs elsewhere that name it as owner.
                      Set<ResourceID> ids =
                          u.getStatus() != null && u.getStatus().namespace != null
                              ? pending(u.getStatus().namespace)
                              : new HashSet<>();
                      vmCache
                          .list()
                          .filter(vm -> u.getMetadata().getName().equals(vm.getSpec().owner))
                          .filter(vm -> vm.getStatus() == null || vm.getStatus().nodeName == null)
                          .forEach(vm -> ids.add(ResourceID.fromResource(vm)));
                      return ids;
                    })
                .build(),
            context);
    images =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Image.class, VirtualMachine.class)
                .withName("images")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(i -> pending(null))
                .build(),
            context);
    @SuppressWarnings({"unchecked", "rawtypes"})
    EventSource<?, VirtualMachine> timer = (EventSource) wakeUps;
    return List.of(hosts, quotas, users, images, timer);
  }

  private Set<ResourceID> pending(String namespace) {
    Set<ResourceID> ids = new HashSet<>();
    if (namespace == null) {
      vmCache
          .list()
          .filter(vm -> vm.getStatus() == null || vm.getStatus().nodeName == null)
          .forEach(vm -> ids.add(ResourceID.fromResource(vm)));
    } else {
      vmCache
          .byIndex("pendingByNamespace", namespace)
          .forEach(vm -> ids.add(ResourceID.fromResource(vm)));
    }
    return ids;
  }

  @Override
  public UpdateControl<VirtualMachine> reconcile(
      VirtualMachine vm, Context<VirtualMachine> context) {
    try {
      return reconcileExisting(vm, context);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return UpdateControl.noUpdate(); // deleted meanwhile; the delete event follows
      }
      throw e;
    }
  }

  private UpdateControl<VirtualMachine> reconcileExisting(
      VirtualMachine vm, Context<VirtualMachine> context) {
    if (lostLeadership.getAsBoolean()) {
      return UpdateControl.noUpdate(); // another replica leads now; this one is stopping
    }
    String key = VmStatuses.key(vm);
    if (context.isPrimaryResourceDeleted()) {
      release(key, vm.getMetadata().getNamespace());
      return UpdateControl.noUpdate();
    }
    loadLedgerOnce();
    VirtualMachineStatus status = vm.getStatus();
    if (status != null && status.nodeName != null) {
      keepScheduled(vm);
      return UpdateControl.noUpdate();
    }
    if (vm.getMetadata().getDeletionTimestamp() != null) {
      return UpdateControl.noUpdate();
    }
    schedule(vm);
    return UpdateControl.noUpdate();
  }

  /** Rebuilds reservations from VM statuses before the first decision as leader. */
  private void loadLedgerOnce() {
    if (ledgerLoaded) {
      return;
    }
    synchronized (ledger) {
      if (ledgerLoaded) {
        return;
      }
      vmCache
          .list()
          .filter(vm -> vm.getStatus() != null && vm.getStatus().nodeName != null)
          .forEach(vm -> ledger.put(VmStatuses.key(vm), reservationFromStatus(vm)));
      log.info("ledger rebuilt from VM statuses: {} reservations", ledger.size());
      ledgerLoaded = true;
      startHostMonitor();
    }
  }

  private Ledger.Reservation reservationFromStatus(VirtualMachine vm) {
    Amounts amounts =
        vm.getStatus().allocated != null
            ? Demand.of(vm.getStatus().allocated)
            : Demand.of(vm.getSpec());
    return new Ledger.Reservation(
        vm.getStatus().nodeName, vm.getMetadata().getNamespace(), vm.getSpec().owner, amounts);
  }

  private void release(String key, String namespace) {
    Optional<Ledger.Reservation> released = ledger.remove(key);
    ledger.removeWaiter(namespace, key);
    if (released.isPresent()) {
      log.info("released {} from {}", key, released.get().host());
      wakeQuotaWaiters(namespace);
      pending(null).forEach(id -> wakeUps.scheduleOnce(id, 0));
    } else {
      wakeQuotaWaiters(namespace);
    }
  }

  private void wakeQuotaWaiters(String namespace) {
    for (String waiter : ledger.quotaWaiters(namespace)) {
      String[] parts = waiter.split("/", 2);
      wakeUps.scheduleOnce(new ResourceID(parts[1], parts[0]), 0);
    }
  }

  // ---- scheduled VMs: keep reservation, label and host-loss state right ----

  static final String RESIZED = "Resized";

  private void keepScheduled(VirtualMachine vm) {
    String key = VmStatuses.key(vm);
    Ledger.Reservation reservation = ledger.get(key).orElse(null);
    if (reservation == null) {
      reservation = reservationFromStatus(vm);
      ledger.put(key, reservation);
    }
    ensureNodeLabel(vm, vm.getStatus().nodeName);
    Instant now = clock.instant();
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    boolean lost =
        hosts
            .get(new ResourceID(vm.getStatus().nodeName))
            .map(HostView::of)
            .map(h -> !h.fresh(now, config.heartbeatGrace()))
            .orElse(true);
    Long generation = vm.getMetadata().getGeneration();
    if (lost && vm.getMetadata().getDeletionTimestamp() == null) {
      if (status.phase != VmPhase.Unknown) {
        Phases.set(status, VmPhase.Unknown, now);
      }
      status.conditions =
          Conditions.set(
              status.conditions,
              NODE_LOST,
              true,
              "HeartbeatMissed",
              "Host "
                  + status.nodeName
                  + " has not sent a heartbeat within "
                  + config.heartbeatGrace().toSeconds()
                  + "s. The VM's disks are local to that host, so it is not moved; see"
                  + " docs/operations.md (host loss).",
              generation,
              now);
    } else if (!lost && Conditions.isTrue(status.conditions, NODE_LOST)) {
      status.conditions =
          Conditions.set(
              status.conditions,
              NODE_LOST,
              false,
              "HostRecovered",
              "Host " + status.nodeName + " is sending heartbeats again.",
              generation,
              now);
      if (status.phase == VmPhase.Unknown) {
        Phases.set(status, Phases.previous(status, VmPhase.Scheduled), now);
      }
    }
    Ledger.Reservation before = ledger.get(key).orElse(reservation);
    if (!lost && vm.getMetadata().getDeletionTimestamp() == null) {
      resize(vm, status, key, now);
    }
    try {
      writeStatusIfChanged(vm, status);
    } catch (RuntimeException e) {
      ledger.put(key, before); // not recorded, so not granted
      throw e;
    }
  }

  /**
   * A spec that grows beyond the VM's reservation goes through the quota and the host's ledger like
   * a new VM (issue 21: resize walked past both). Granted: the reservation and {@code
   * status.allocated} grow, and the node daemon applies the size. Refused: the VM keeps running at
   * its granted size with a Resized=False condition saying why.
   */
  private void resize(VirtualMachine vm, VirtualMachineStatus status, String key, Instant now) {
    Amounts granted = Demand.of(status.allocated);
    Amounts asked = Demand.of(vm.getSpec());
    if (asked.equals(granted) && !Conditions.find(status.conditions, RESIZED).isPresent()) {
      return;
    }
    String namespace = vm.getMetadata().getNamespace();
    String host = status.nodeName;
    Resize.Decision decision;
    synchronized (ledger) {
      Amounts allocatable =
          hosts
              .get(new ResourceID(host))
              .map(HostView::of)
              .map(HostView::allocatable)
              .orElse(granted);
      decision =
          Resize.decide(
              granted,
              asked,
              quotas.list(namespace).collect(Collectors.toList()),
              ledger.usage(namespace),
              host,
              allocatable,
              ledger.allocatedByHost().getOrDefault(host, granted));
      if (decision.changed(granted)) {
        ledger.put(
            key, new Ledger.Reservation(host, namespace, vm.getSpec().owner, decision.granted()));
      }
    }
    Long generation = vm.getMetadata().getGeneration();
    if (decision.refusal().isPresent()) {
      String message =
          decision.refusal().get() + " The VM keeps running with " + Resize.describe(granted) + ".";
      boolean news =
          !Conditions.find(status.conditions, RESIZED)
              .map(c -> message.equals(c.getMessage()))
              .orElse(false);
      status.conditions =
          Conditions.set(
              status.conditions, RESIZED, false, "ResizeRefused", message, generation, now);
      if (news) {
        events.warning(vm, "ResizeRefused", message);
      }
    } else {
      status.allocated = Demand.toResource(decision.granted());
      status.conditions =
          Conditions.set(
              status.conditions,
              RESIZED,
              true,
              "Granted",
              "The VM holds " + Resize.describe(decision.granted()) + ".",
              generation,
              now);
    }
  }

  private void ensureNodeLabel(VirtualMachine vm, String node) {
    Map<String, String> labels = vm.getMetadata().getLabels();
    if (labels != null && node.equals(labels.get(VirtualMachine.NODE_LABEL))) {
      return;
    }
    // One merge patch, no read: the label is ours alone (documented in docs/api.md).
    client
        .resources(VirtualMachine.class)
        .inNamespace(vm.getMetadata().getNamespace())
        .withName(vm.getMetadata().getName())
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\":{\"labels\":{\"" + VirtualMachine.NODE_LABEL + "\":\"" + node + "\"}}}");
  }

  // ---- unscheduled VMs ----

  private void schedule(VirtualMachine vm) {
    String key = VmStatuses.key(vm);
    String namespace = vm.getMetadata().getNamespace();
    Instant now = clock.instant();
    Amounts demand = Demand.of(vm.getSpec());

    Optional<String> disabled = disabledUser(vm);
    if (disabled.isPresent()) {
      pendingStatus(vm, "UserDisabled", disabled.get(), now);
      return;
    }
    Optional<String> ownerProblem =
        Ownership.problem(
            vm,
            vm.getSpec().owner == null
                ? Optional.empty()
                : users.get(new ResourceID(vm.getSpec().owner)));
    if (ownerProblem.isPresent()) {
      pendingStatus(vm, "OwnerMismatch", ownerProblem.get(), now);
      return;
    }

    String reason;
    String message;
    Placement.Decision decision;
    synchronized (ledger) {
      String created = vm.getMetadata().getCreationTimestamp();
      Optional<String> older = ledger.olderQuotaWaiter(namespace, created, key);
      List<Quota> namespaceQuotas = quotas.list(namespace).collect(Collectors.toList());
      Optional<String> exceeded =
          QuotaCheck.exceeded(namespaceQuotas, ledger.usage(namespace), demand);
      if (exceeded.isPresent() || older.isPresent()) {
        ledger.addQuotaWaiter(namespace, created, key);
        reason = "QuotaExceeded";
        message =
            exceeded.orElseGet(
                () -> "waiting for quota behind the older VM " + older.get().split("/", 2)[1]);
        decision = null;
      } else {
        decision = Placement.decide(request(vm, demand), cluster(now), config.strategy());
        if (decision.placed()) {
          ledger.put(
              key,
              new Ledger.Reservation(decision.host().get(), namespace, vm.getSpec().owner, demand));
          reason = "Scheduled";
          message = "Placed on host " + decision.host().get() + ".";
        } else {
          reason = "Unschedulable";
          message = "No host fits: " + decision.message() + ".";
        }
      }
    }
    if (decision == null || !decision.placed()) {
      pendingStatus(vm, reason, message, now);
      return;
    }
    String host = decision.host().get();
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    status.nodeName = host;
    status.allocated = Demand.toResource(demand);
    status.observedGeneration = vm.getMetadata().getGeneration();
    Phases.set(status, VmPhase.Scheduled, now);
    status.conditions =
        Conditions.set(
            status.conditions,
            SCHEDULED,
            true,
            reason,
            message,
            vm.getMetadata().getGeneration(),
            now);
    status.sshCommand = sshCommand(config.sshGateway(), vm.getMetadata().getName());
    status.url = "https://" + vm.getMetadata().getName() + "." + config.domain() + "/";
    try {
      if (lostLeadership.getAsBoolean()) {
        throw new IllegalStateException("lost leadership before writing the placement");
      }
      vm.setStatus(status);
      client.resource(vm).updateStatus();
    } catch (RuntimeException e) {
      // Not written, so not reserved: give the room back and let JOSDK retry with fresh state.
      ledger.remove(key);
      throw e;
    }
    ensureNodeLabel(vm, host);
    Instant created = Instant.parse(vm.getMetadata().getCreationTimestamp());
    schedulingLatency.record(Duration.between(created, clock.instant()));
    events.normal(vm, "Scheduled", message);
    wakeQuotaWaiters(namespace);
  }

  /**
   * The command a person types to reach the VM: ProxyJump through the gateway (which identifies
   * people by key, whatever user name they give it) to the guest's {@code vmctl} user, exactly as
   * docs/getting-started.md shows it.
   */
  public static String sshCommand(String gateway, String vm) {
    return "ssh -J " + gateway + " vmctl@" + vm;
  }

  private void pendingStatus(VirtualMachine vm, String reason, String message, Instant now) {
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    Phases.set(status, VmPhase.Pending, now);
    status.observedGeneration = vm.getMetadata().getGeneration();
    boolean changed =
        !Conditions.find(status.conditions, SCHEDULED)
            .map(c -> reason.equals(c.getReason()) && message.equals(c.getMessage()))
            .orElse(false);
    status.conditions =
        Conditions.set(
            status.conditions,
            SCHEDULED,
            false,
            reason,
            message,
            vm.getMetadata().getGeneration(),
            now);
    if (writeStatusIfChanged(vm, status) && changed) {
      events.warning(vm, "FailedScheduling", message);
    }
  }

  private boolean writeStatusIfChanged(VirtualMachine vm, VirtualMachineStatus status) {
    if (VmStatuses.same(vm.getStatus(), status)) {
      return false;
    }
    vm.setStatus(status);
    client.resource(vm).updateStatus();
    return true;
  }

  private Optional<String> disabledUser(VirtualMachine vm) {
    String namespace = vm.getMetadata().getNamespace();
    String owner = vm.getSpec().owner;
    return users
        .list()
        .filter(
            u ->
                (owner != null && owner.equals(u.getMetadata().getName()))
                    || (u.getStatus() != null && namespace.equals(u.getStatus().namespace)))
        .filter(u -> u.getSpec() != null && Boolean.TRUE.equals(u.getSpec().disabled))
        .findFirst()
        .map(u -> "User " + u.getMetadata().getName() + " is disabled; new VMs are not scheduled.");
  }

  private Placement.Request request(VirtualMachine vm, Amounts demand) {
    String image = vm.getSpec().image == null ? "debian-12" : vm.getSpec().image;
    boolean fetchable = images.get(new ResourceID(image)).isPresent();
    return new Placement.Request(
        demand, vm.getSpec().nodeSelector, image, fetchable, vm.getSpec().owner);
  }

  private Placement.Cluster cluster(Instant now) {
    List<HostView> views = hosts.list().map(HostView::of).toList();
    return new Placement.Cluster(
        views, ledger.allocatedByHost(), ledger.ownersByHost(), now, config.heartbeatGrace());
  }

  // ---- host loss: heartbeats stop producing events, so a clock has to notice ----

  private void startHostMonitor() {
    monitor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "host-loss-monitor");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(200, config.heartbeatGrace().toMillis() / 4);
    monitor.scheduleWithFixedDelay(this::checkHosts, period, period, TimeUnit.MILLISECONDS);
  }

  private void checkHosts() {
    try {
      Instant now = clock.instant();
      Map<String, Boolean> freshness = new HashMap<>();
      hosts
          .list()
          .map(HostView::of)
          .forEach(h -> freshness.put(h.name(), h.fresh(now, config.heartbeatGrace())));
      for (var e : freshness.entrySet()) {
        boolean lostNow = !e.getValue();
        boolean changed = lostNow ? lostHosts.add(e.getKey()) : lostHosts.remove(e.getKey());
        if (changed) {
          log.warn("host {} is {}", e.getKey(), lostNow ? "lost" : "back");
          vmCache
              .byIndex("byNode", e.getKey())
              .forEach(vm -> wakeUps.scheduleOnce(ResourceID.fromResource(vm), 0));
        }
      }
    } catch (RuntimeException e) {
      log.warn("host check failed", e);
    }
  }

  public void stop() {
    if (monitor != null) {
      monitor.shutdownNow();
    }
    events.close();
  }
}
