package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.List;

/**
 * A bare-metal node that runs VMs. Cluster-scoped, one per node, named after it; the node daemon
 * writes its status, administrators set {@code spec.unschedulable}. Labels on the Host are what a
 * VM's nodeSelector matches.
 */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("Host")
@Plural("hosts")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Unschedulable",
    jsonPath = ".spec.unschedulable",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "Cores",
    jsonPath = ".status.capacity.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Overcommit",
    jsonPath = ".status.cpuOvercommit",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "vCPUs",
    jsonPath = ".status.allocatable.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "vCPUs Used",
    jsonPath = ".status.allocated.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".status.allocatable.memory")
@AdditionalPrinterColumn(
    name = "VMs",
    jsonPath = ".status.vms",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Hypervisor", jsonPath = ".status.hypervisor.kind")
@AdditionalPrinterColumn(name = "Storage", jsonPath = ".status.storage.driver", priority = 1)
@AdditionalPrinterColumn(name = "Subnet", jsonPath = ".status.vmSubnet", priority = 1)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class Host extends CustomResource<Host.Spec, Host.Status> {

  /** What administrators control. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Spec {
    @JsonPropertyDescription("true keeps new VMs off this host; VMs already on it keep running.")
    @Default("false")
    public Boolean unschedulable;

    @JsonPropertyDescription(
        "vCPUs the scheduler may place per core of this host, from 1 (no overcommit) to 32;"
            + " when left out, the node daemon's VMCTL_CPU_OVERCOMMIT (4 by default). Memory is"
            + " never overcommitted.")
    @ValidationRule(
        value = "self >= 1 && self <= 32",
        message = "cpuOvercommit must be a whole number of vCPUs per core from 1 to 32")
    public Integer cpuOvercommit;
  }

  /** What the node daemon measured. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Status {
    @JsonPropertyDescription("Everything the host has: cpus counts its cores (logical CPUs).")
    public ResourceAmounts capacity;

    @JsonPropertyDescription(
        "vCPUs the scheduler may place per core: spec.cpuOvercommit, else the cluster default.")
    public Integer cpuOvercommit;

    @JsonPropertyDescription(
        "What VMs may use: cpus is vCPUs, (cores less the reserved cores) times cpuOvercommit;"
            + " memory is capacity less the reserved memory, never overcommitted; disk is the pool.")
    public ResourceAmounts allocatable;

    @JsonPropertyDescription(
        "Memory each VM needs on the host beyond its own (hypervisor and device processes), such"
            + " as 512Mi; the scheduler reserves memory plus this for every VM that holds memory.")
    public String vmMemoryOverhead;

    @JsonPropertyDescription(
        "What the VMs on the host have reserved: vCPUs, memory (without the overhead) and disk"
            + " (root and data volumes together).")
    public ResourceAmounts allocated;

    @JsonPropertyDescription("Number of VMs on the host.")
    public Integer vms;

    public Storage storage;
    public Hypervisor hypervisor;

    @JsonPropertyDescription("The subnet VM addresses come from, such as 10.100.3.0/24.")
    public String vmSubnet;

    @JsonPropertyDescription("Images whose base volume is present on the host.")
    public List<String> images = new ArrayList<>();

    @JsonPropertyDescription("Ready, with its lastTransitionTime; see heartbeatTime for liveness.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("RFC 3339 time of the node daemon's last heartbeat.")
    public String heartbeatTime;

    @JsonPropertyDescription("Version of the node daemon.")
    public String daemonVersion;

    public Long observedGeneration;
  }

  /** The storage pool VM volumes come from. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Storage {
    @JsonPropertyDescription("lvm-thin, btrfs or reflink.")
    public String driver;

    public String poolSize;
    public String poolFree;
  }

  /** Which hypervisor runs the VMs. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Hypervisor {
    @JsonPropertyDescription("cloud-hypervisor or qemu.")
    public String kind;

    public String version;

    @JsonPropertyDescription("Whether hardware virtualisation (KVM) is in use.")
    public Boolean kvm;
  }
}
