package dev.vmctl.operator.scheduling;

import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.Admission;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
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
import dev.vmctl.operator.model.HostLoss;
import dev.vmctl.operator.model.HostView;
import dev.vmctl.operator.model.Placement;
import dev.vmctl.operator.model.Readmission;
import dev.vmctl.operator.model.Resize;
import dev.vmctl.operator.model.Scheduling;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Schedules VirtualMachines onto Hosts and keeps scheduled VMs' reservations and sizes right. Runs
 * only on the leader. Each pass measures (caches, the ledger), decides ({@link Scheduling}, {@link
 * Resize}: pure), reserves, and writes the status once. Host loss is {@code HostLossReconciler}'s.
 * Owns no finalizer: it sees deletions through all-events triggering and releases a VM's
 * reservation only once the VM is really gone (after the node daemon's finalizer let go).
 */
@ControllerConfiguration(name = "vm-scheduler", triggerReconcilerOnAllEvents = true)
public class VmReconciler implements Reconciler<VirtualMachine> {
  private static final Logger log = LoggerFactory.getLogger(VmReconciler.class);

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
  private io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache<VirtualMachine>
      vmCache;

  public VmReconciler(
      KubernetesClient client,
      OperatorConfig config,
      Ledger ledger,
      Clock clock,
      MeterRegistry registry,
      EventRecorder events,
      BooleanSupplier lostLeadership) {
    this.client = client;
    this.lostLeadership = lostLeadership;
    this.config = config;
    this.ledger = ledger;
    this.clock = clock;
    this.events = events;
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
            "vmctl_unschedulable_vms", this, r -> r.pendingCount(Reasons.UNSCHEDULABLE))
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
                        && Conditions.sameReason(
                            vm.getStatus().conditions, ConditionTypes.SCHEDULED, reason)))
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
                      // Pending VMs (room may have appeared) and the host's own VMs (a refused
                      // resize may fit now; a deleted Host leaves them lost).
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
      wakeForFreedRoom(namespace);
    } else {
      wakeQuotaWaiters(namespace);
    }
  }

  /**
   * Room freed (a VM gone or stopped): whoever waits for it gets a look, new VMs, the namespace's
   * quota queue and stopped VMs waiting to start again. No order among them beyond the quota queue.
   */
  private void wakeForFreedRoom(String namespace) {
    wakeQuotaWaiters(namespace);
    pending(null).forEach(id -> wakeUps.scheduleOnce(id, 0));
    vmCache
        .list()
        .filter(VmReconciler::waitingToStart)
        .forEach(vm -> wakeUps.scheduleOnce(ResourceID.fromResource(vm), 0));
  }

  /** On a host, without CPU and memory, and asked to run: waits for re-admission. */
  private static boolean waitingToStart(VirtualMachine vm) {
    return vm.getStatus() != null
        && vm.getStatus().nodeName != null
        && !Admission.granted(vm.getStatus())
        && !Admission.staysOff(vm)
        && vm.getMetadata().getDeletionTimestamp() == null;
  }

  private void wakeQuotaWaiters(String namespace) {
    for (String waiter : ledger.quotaWaiters(namespace)) {
      String[] parts = waiter.split("/", 2);
      wakeUps.scheduleOnce(new ResourceID(parts[1], parts[0]), 0);
    }
  }

  // ---- scheduled VMs: keep the reservation and the size right ----

  private void keepScheduled(VirtualMachine vm) {
    String key = VmStatuses.key(vm);
    Ledger.Reservation reservation = ledger.get(key).orElse(null);
    if (reservation == null) {
      reservation = reservationFromStatus(vm);
      ledger.put(key, reservation);
    }
    Instant now = clock.instant();
    Optional<HostView> host = hosts.get(new ResourceID(vm.getStatus().nodeName)).map(HostView::of);
    // A Host object that is gone has no host-loss reconcile left: its VMs are lost from here.
    VirtualMachineStatus status =
        host.isPresent() ? VmStatuses.copy(vm.getStatus()) : HostLoss.hostDeleted(vm, now);
    Ledger.Reservation before = ledger.get(key).orElse(reservation);
    AfterWrite event = null;
    if (host.isPresent()
        && host.get().fresh(now, config.heartbeatGrace())
        && vm.getMetadata().getDeletionTimestamp() == null) {
      event = adjust(vm, status, host.get(), key, now);
    }
    try {
      writeStatusIfChanged(vm, status);
    } catch (RuntimeException e) {
      ledger.put(key, before); // not recorded, so not granted
      throw e;
    }
    if (event != null) {
      event.record(events, vm);
      if (event.freedRoom()) {
        wakeForFreedRoom(vm.getMetadata().getNamespace());
      }
    }
  }

  /** What to tell after the status is written, and whether room was freed. */
  private record AfterWrite(String type, String reason, String message, boolean freedRoom) {
    void record(EventRecorder events, VirtualMachine vm) {
      if ("Warning".equals(type)) {
        events.warning(vm, reason, message);
      } else if (reason != null) {
        events.normal(vm, reason, message);
      }
    }
  }

  /**
   * Keeps a placed VM's grant right (issue 15): a VM stopped for good gives back its CPU and
   * memory; one asked to run again without them goes through its host's ledger and its quota
   * ({@link Readmission}); anything else is a resize. Returns the Event to record once the status
   * is written, or null.
   */
  private AfterWrite adjust(
      VirtualMachine vm, VirtualMachineStatus status, HostView host, String key, Instant now) {
    String namespace = vm.getMetadata().getNamespace();
    Amounts granted = Demand.of(status.allocated);
    boolean holding = Admission.granted(status);
    if (holding && Admission.releasable(vm)) {
      ledger.put(
          key,
          new Ledger.Reservation(host.name(), namespace, vm.getSpec().owner, granted.disksOnly()));
      Readmission.release(vm, status, granted, now);
      return new AfterWrite("Normal", null, null, true);
    }
    if (!holding && !Admission.staysOff(vm)) {
      Readmission.Decision decision;
      synchronized (ledger) {
        decision =
            Readmission.decide(
                granted,
                Demand.of(vm.getSpec()),
                quotas.list(namespace).collect(Collectors.toList()),
                ledger.usage(namespace),
                host,
                Placement.used(ledger.loadByHost(), host));
        if (decision.admitted()) {
          ledger.put(
              key,
              new Ledger.Reservation(
                  host.name(), namespace, vm.getSpec().owner, decision.granted()));
        }
      }
      boolean news = Readmission.applyTo(vm, status, decision, now);
      if (decision.admitted()) {
        return new AfterWrite("Normal", Reasons.ADMITTED, decision.message(), false);
      }
      return news
          ? new AfterWrite("Warning", Reasons.FAILED_SCHEDULING, decision.message(), false)
          : null;
    }
    boolean refusedNews = resize(vm, status, host, key, now, !holding);
    return refusedNews
        ? new AfterWrite(
            "Warning",
            Reasons.RESIZE_REFUSED,
            Conditions.find(status.conditions, ConditionTypes.RESIZED).orElseThrow().getMessage(),
            false)
        : null;
  }

  /**
   * A spec that grows beyond the VM's reservation goes through the quota and the host's ledger like
   * a new VM (issue 21: resize walked past both). Granted: the reservation and {@code
   * status.allocated} grow, and the node daemon applies the size. Refused: the VM keeps running at
   * its granted size with a Resized=False condition saying why. Returns whether the refusal is new
   * (an Event to record once the status is written). A stopped VM ({@code disksOnly}) can grow its
   * disks only.
   */
  private boolean resize(
      VirtualMachine vm,
      VirtualMachineStatus status,
      HostView host,
      String key,
      Instant now,
      boolean disksOnly) {
    Amounts granted = Demand.of(status.allocated);
    Amounts asked = disksOnly ? Demand.of(vm.getSpec()).disksOnly() : Demand.of(vm.getSpec());
    if (asked.equals(granted)
        && Conditions.find(status.conditions, ConditionTypes.RESIZED).isEmpty()) {
      return false;
    }
    String namespace = vm.getMetadata().getNamespace();
    Resize.Decision decision;
    synchronized (ledger) {
      decision =
          Resize.decide(
              granted,
              asked,
              quotas.list(namespace).collect(Collectors.toList()),
              ledger.usage(namespace),
              host.name(),
              host.allocatable(),
              Placement.used(ledger.loadByHost(), host));
      if (decision.changed(granted)) {
        ledger.put(
            key,
            new Ledger.Reservation(host.name(), namespace, vm.getSpec().owner, decision.granted()));
      }
    }
    return Resize.applyTo(status, decision, granted, vm.getMetadata().getGeneration(), now);
  }

  // ---- unscheduled VMs: measure, decide, reserve, write once ----

  private void schedule(VirtualMachine vm) {
    String key = VmStatuses.key(vm);
    String namespace = vm.getMetadata().getNamespace();
    String created = vm.getMetadata().getCreationTimestamp();
    Instant now = clock.instant();
    Scheduling.Decision decision;
    synchronized (ledger) { // measure, decide and reserve as one step: no overcommit
      decision = Scheduling.decide(inputs(vm, now));
      if (decision instanceof Scheduling.Place place) {
        ledger.put(
            key,
            new Ledger.Reservation(
                place.host(), namespace, vm.getSpec().owner, place.allocation()));
      } else if (decision instanceof Scheduling.Pending pending && pending.queueForQuota()) {
        ledger.addQuotaWaiter(namespace, created, key);
      }
    }
    VirtualMachineStatus status =
        Scheduling.status(vm, decision, config.sshGateway(), config.domain(), now);
    boolean news = Scheduling.news(vm, decision);
    if (decision instanceof Scheduling.Pending) {
      if (writeStatusIfChanged(vm, status) && news) {
        events.warning(vm, Reasons.FAILED_SCHEDULING, decision.message());
      }
      return;
    }
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
    schedulingLatency.record(Duration.between(Instant.parse(created), clock.instant()));
    events.normal(vm, Reasons.SCHEDULED, decision.message());
    wakeQuotaWaiters(namespace);
  }

  /** The measurement for one decision: caches and the ledger (the caller holds its lock). */
  private Scheduling.Inputs inputs(VirtualMachine vm, Instant now) {
    String namespace = vm.getMetadata().getNamespace();
    String owner = vm.getSpec().owner;
    List<User> concerned =
        users
            .list()
            .filter(
                u ->
                    (owner != null && owner.equals(u.getMetadata().getName()))
                        || (u.getStatus() != null && namespace.equals(u.getStatus().namespace)))
            .toList();
    String image = vm.getSpec().image == null ? "debian-12" : vm.getSpec().image;
    List<HostView> views = hosts.list().map(HostView::of).toList();
    return new Scheduling.Inputs(
        vm,
        concerned,
        quotas.list(namespace).collect(Collectors.toList()),
        ledger.usage(namespace),
        ledger.olderQuotaWaiter(
            namespace, vm.getMetadata().getCreationTimestamp(), VmStatuses.key(vm)),
        images.get(new ResourceID(image)).isPresent(),
        new Placement.Cluster(
            views, ledger.loadByHost(), ledger.ownersByHost(), now, config.heartbeatGrace()),
        config.strategy());
  }

  private boolean writeStatusIfChanged(VirtualMachine vm, VirtualMachineStatus status) {
    if (VmStatuses.same(vm.getStatus(), status)) {
      return false;
    }
    vm.setStatus(status);
    client.resource(vm).updateStatus();
    return true;
  }

  /**
   * The VMs placed on {@code host}, from this controller's cache (for the host-loss reconciler).
   */
  public List<VirtualMachine> vmsOn(String host) {
    return vmCache == null ? List.of() : vmCache.byIndex("byNode", host);
  }
}
