package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.List;

/** Caps what the VMs of one namespace may use, like a ResourceQuota. */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("Quota")
@Plural("quotas")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(
    name = "VMs",
    jsonPath = ".status.used.vms",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Max VMs",
    jsonPath = ".spec.hard.vms",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "CPUs",
    jsonPath = ".status.used.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Max CPUs",
    jsonPath = ".spec.hard.cpus",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".status.used.memory")
@AdditionalPrinterColumn(name = "Max Memory", jsonPath = ".spec.hard.memory")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class Quota extends CustomResource<Quota.Spec, Quota.Status> implements Namespaced {

  /** The limits. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Spec {
    @JsonPropertyDescription("Limits; a limit left out is unlimited.")
    public Amounts hard;
  }

  /** Use counted from the namespace's VMs. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Status {
    public Amounts used;
    public Long observedGeneration;
    public List<Condition> conditions = new ArrayList<>();
  }

  /** Counts of VMs, CPUs (by maxCpus), memory (by maxMemory) and disk. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Amounts {
    @JsonPropertyDescription("Number of VirtualMachines.")
    @Min(0)
    @Max(100000)
    public Integer vms;

    @JsonPropertyDescription("Virtual CPUs, counted at each VM's maxCpus.")
    @Min(0)
    @Max(1000000)
    public Integer cpus;

    @JsonPropertyDescription("Memory, counted at each VM's maxMemory; a quantity such as 64Gi.")
    @Size(max = 32)
    @ValidationRule(value = "isQuantity(self)", message = "memory must be a quantity such as 64Gi")
    public String memory;

    @JsonPropertyDescription("Disk of root and data volumes together; a quantity such as 500Gi.")
    @Size(max = 32)
    @ValidationRule(value = "isQuantity(self)", message = "disk must be a quantity such as 500Gi")
    public String disk;

    public Amounts() {}

    public Amounts(Integer vms, Integer cpus, String memory, String disk) {
      this.vms = vms;
      this.cpus = cpus;
      this.memory = memory;
      this.disk = disk;
    }
  }
}
