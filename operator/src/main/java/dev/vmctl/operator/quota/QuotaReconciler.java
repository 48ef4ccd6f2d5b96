package dev.vmctl.operator.quota;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.operator.model.Demand;
import dev.vmctl.operator.model.QuotaCheck;
import dev.vmctl.operator.model.QuotaCheck.Usage;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Keeps {@code Quota.status.used} equal to the sum of the reservations of the admitted VMs in the
 * namespace (VMs with a node), computed from the VM cache, written only when it changes.
 */
@ControllerConfiguration(name = "quota-status")
public class QuotaReconciler implements Reconciler<Quota> {
  private static final ObjectMapper JSON = Serialization.jsonMapper();
  private InformerEventSource<VirtualMachine, Quota> vms;

  @Override
  public List<EventSource<?, Quota>> prepareEventSources(EventSourceContext<Quota> context) {
    var primaries = context.getPrimaryCache();
    vms =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(VirtualMachine.class, Quota.class)
                .withName("quota-vms")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(
                    vm ->
                        primaries
                            .list(vm.getMetadata().getNamespace())
                            .map(ResourceID::fromResource)
                            .collect(Collectors.toSet()))
                .build(),
            context);
    return List.of(vms);
  }

  @Override
  public UpdateControl<Quota> reconcile(Quota quota, Context<Quota> context) {
    Usage usage = Usage.NONE;
    for (VirtualMachine vm : vms.list(quota.getMetadata().getNamespace()).toList()) {
      if (vm.getStatus() != null && vm.getStatus().nodeName != null) {
        usage =
            usage.plus(
                vm.getStatus().allocated != null
                    ? Demand.of(vm.getStatus().allocated)
                    : Demand.of(vm.getSpec()));
      }
    }
    Quota.Amounts used = QuotaCheck.toStatus(usage);
    Quota.Status current = quota.getStatus();
    if (current != null
        && Objects.equals(JSON.valueToTree(current.used), JSON.valueToTree(used))
        && Objects.equals(current.observedGeneration, quota.getMetadata().getGeneration())) {
      return UpdateControl.noUpdate();
    }
    Quota.Status status = current == null ? new Quota.Status() : current;
    status.used = used;
    status.observedGeneration = quota.getMetadata().getGeneration();
    quota.setStatus(status);
    context.getClient().resource(quota).updateStatus();
    return UpdateControl.noUpdate();
  }
}
