package dev.vmctl.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalSelectableField;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A virtual machine, declared like a Deployment; scheduled by the operator, run by a node. */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("VirtualMachine")
@Plural("virtualmachines")
@ShortNames("vm")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Node", jsonPath = ".status.nodeName")
@AdditionalPrinterColumn(name = "IP", jsonPath = ".status.ipAddress")
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "CPUs",
    jsonPath = ".spec.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER,
    priority = 1)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".spec.memory", priority = 1)
@AdditionalPrinterColumn(name = "Owner", jsonPath = ".spec.owner", priority = 1)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
@AdditionalSelectableField(jsonPath = ".spec.owner")
@AdditionalSelectableField(jsonPath = ".status.nodeName")
@AdditionalSelectableField(jsonPath = ".status.phase")
public class VirtualMachine extends CustomResource<VirtualMachineSpec, VirtualMachineStatus>
    implements Namespaced {

  /** Set to a timestamp to request a restart, like {@code kubectl rollout restart}. */
  public static final String RESTARTED_AT_ANNOTATION = Api.GROUP + "/restartedAt";

  /**
   * No longer written (issue 13): node daemons select their VMs on the {@code status.nodeName}
   * selectable field. VMs scheduled before may still carry it; remove the constant once the node
   * daemon no longer reads it.
   */
  @Deprecated public static final String NODE_LABEL = Api.GROUP + "/node";

  /** Owned by the node daemon: host resources are released before the VM disappears. */
  public static final String NODE_FINALIZER = Api.GROUP + "/node-cleanup";
}
