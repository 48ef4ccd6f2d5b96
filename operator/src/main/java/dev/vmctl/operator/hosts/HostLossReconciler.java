package dev.vmctl.operator.hosts;

import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.operator.model.HostLoss;
import dev.vmctl.operator.model.HostView;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host loss, like KubeVirt's node controller: one reconcile per Host, on each of its heartbeats and
 * once more just after the heartbeat would go stale (heartbeats that stop produce no events, so the
 * reconcile reschedules itself). A stale host's VMs get phase Unknown and NodeLost=True; a host
 * that is back clears NodeLost. The decision per VM is {@link HostLoss} (pure). VMs whose Host
 * object is gone altogether are the scheduler's to mark ({@code VmReconciler}): there is no Host
 * left to reconcile.
 */
@ControllerConfiguration(name = "host-loss")
public class HostLossReconciler implements Reconciler<Host> {
  private static final Logger log = LoggerFactory.getLogger(HostLossReconciler.class);

  private final KubernetesClient client;
  private final Duration grace;
  private final Clock clock;
  private final EventRecorder events;
  private final BooleanSupplier lostLeadership;
  private final Function<String, List<VirtualMachine>> vmsOnHost;
  private final Set<String> lostHosts = ConcurrentHashMap.newKeySet();

  /**
   * @param vmsOnHost the VMs whose {@code status.nodeName} is the given host, from the scheduler's
   *     cache (one VM informer in the operator, not two)
   */
  public HostLossReconciler(
      KubernetesClient client,
      Duration grace,
      Clock clock,
      EventRecorder events,
      BooleanSupplier lostLeadership,
      Function<String, List<VirtualMachine>> vmsOnHost) {
    this.client = client;
    this.grace = grace;
    this.clock = clock;
    this.events = events;
    this.lostLeadership = lostLeadership;
    this.vmsOnHost = vmsOnHost;
  }

  @Override
  public UpdateControl<Host> reconcile(Host host, Context<Host> context) {
    if (lostLeadership.getAsBoolean()) {
      return UpdateControl.noUpdate();
    }
    Instant now = clock.instant();
    HostView view = HostView.of(host);
    String name = view.name();
    boolean lost = !view.fresh(now, grace);
    boolean changed = lost ? lostHosts.add(name) : lostHosts.remove(name);
    if (changed) {
      log.warn("host {} is {}", name, lost ? "lost" : "back");
      if (lost) {
        events.warning(
            host,
            Reasons.HEARTBEAT_MISSED,
            "No heartbeat within " + grace.toSeconds() + "s; its VMs are Unknown.");
      } else {
        events.normal(host, Reasons.HOST_RECOVERED, "The host sends heartbeats again.");
      }
    }
    RuntimeException failure = null;
    for (VirtualMachine vm : vmsOnHost.apply(name)) {
      VirtualMachineStatus next = HostLoss.status(vm, lost, grace, now);
      if (VmStatuses.same(vm.getStatus(), next)) {
        continue;
      }
      try {
        client.resource(statusOnly(vm, next)).updateStatus();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 404) { // a VM deleted meanwhile needs nothing
          failure = e; // the others still get their status; JOSDK retries this host
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
    return UpdateControl.<Host>noUpdate().rescheduleAfter(HostLoss.recheckAfter(view, grace, now));
  }

  /**
   * What a status write sends: the new status under the cached VM's identity and resourceVersion
   * (optimistic locking). The cached object itself stays untouched; the API server ignores all but
   * the status on the status subresource.
   */
  static VirtualMachine statusOnly(VirtualMachine vm, VirtualMachineStatus status) {
    VirtualMachine write = new VirtualMachine();
    write.setMetadata(
        new ObjectMetaBuilder()
            .withName(vm.getMetadata().getName())
            .withNamespace(vm.getMetadata().getNamespace())
            .withUid(vm.getMetadata().getUid())
            .withResourceVersion(vm.getMetadata().getResourceVersion())
            .build());
    write.setSpec(vm.getSpec());
    write.setStatus(status);
    return write;
  }
}
