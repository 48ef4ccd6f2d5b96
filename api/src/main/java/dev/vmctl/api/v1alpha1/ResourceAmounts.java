package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** CPUs, memory and disk as counted by hosts, quotas and reservations. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ResourceAmounts {
  @JsonPropertyDescription("Virtual CPUs.")
  public Integer cpus;

  @JsonPropertyDescription("Memory, a quantity such as 64Gi.")
  public String memory;

  @JsonPropertyDescription("Disk, a quantity such as 500Gi.")
  public String disk;

  @JsonPropertyDescription(
      "Root volume, a quantity such as 10Gi; only in a VM's allocation, where disk is its data"
          + " volume. Hosts and quotas count disk as both volumes together.")
  public String rootDisk;

  public ResourceAmounts() {}

  public ResourceAmounts(Integer cpus, String memory, String disk) {
    this.cpus = cpus;
    this.memory = memory;
    this.disk = disk;
  }
}
