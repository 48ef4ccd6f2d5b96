package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/** What the user wants: never written by controllers. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "!has(self.maxCpus) || self.maxCpus >= self.cpus",
    message = "maxCpus must be at least cpus",
    fieldPath = ".maxCpus")
@ValidationRule(
    value =
        "!has(self.maxMemory) || !isQuantity(self.maxMemory) || !isQuantity(self.memory)"
            + " || quantity(self.maxMemory).compareTo(quantity(self.memory)) >= 0",
    message = "maxMemory must be at least memory",
    fieldPath = ".maxMemory")
@ValidationRule(
    value = "!has(oldSelf.owner) || (has(self.owner) && self.owner == oldSelf.owner)",
    message = "owner cannot be changed once set",
    fieldPath = ".owner")
public class VirtualMachineSpec {

  @JsonPropertyDescription(
      "Name of the base Image the root volume is cloned from. Cannot be changed.")
  @Default("debian-12")
  @Size(min = 1, max = 63)
  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @ValidationRule(value = "self == oldSelf", message = "image cannot be changed; create a new VM")
  public String image;

  @JsonPropertyDescription("Virtual CPUs at boot.")
  @Default("1")
  @Min(1)
  @Max(128)
  public Integer cpus;

  @JsonPropertyDescription(
      "Most virtual CPUs the VM may be resized to without a restart (hot-plug headroom);"
          + " defaults to cpus.")
  @Min(1)
  @Max(128)
  public Integer maxCpus;

  @JsonPropertyDescription("Memory at boot, a quantity such as 512Mi or 4Gi; at least 128Mi.")
  @Default("1Gi")
  @Size(max = 32)
  @ValidationRule(
      value = "isQuantity(self)",
      message = "memory must be a quantity such as 512Mi or 4Gi")
  @ValidationRule(
      value = "!isQuantity(self) || quantity(self).compareTo(quantity('128Mi')) >= 0",
      message = "memory must be at least 128Mi")
  public String memory;

  @JsonPropertyDescription(
      "Most memory the VM may be resized to without a restart; defaults to memory.")
  @Size(max = 32)
  @ValidationRule(
      value = "isQuantity(self)",
      message = "maxMemory must be a quantity such as 1Gi or 8Gi")
  @ValidationRule(
      value = "!isQuantity(self) || quantity(self).compareTo(quantity('128Mi')) >= 0",
      message = "maxMemory must be at least 128Mi")
  public String maxMemory;

  @JsonPropertyDescription(
      "Size of the persistent data volume, such as 10Gi; at least 1Gi. It can grow, never"
          + " shrink.")
  @Default("10Gi")
  @Size(max = 32)
  @ValidationRule(value = "isQuantity(self)", message = "disk must be a quantity such as 10Gi")
  @ValidationRule(
      value = "!isQuantity(self) || quantity(self).compareTo(quantity('1Gi')) >= 0",
      message = "disk must be at least 1Gi")
  @ValidationRule(
      value =
          "!isQuantity(self) || !isQuantity(oldSelf)"
              + " || quantity(self).compareTo(quantity(oldSelf)) >= 0",
      message = "disk cannot shrink; the data volume would lose data")
  public String disk;

  @JsonPropertyDescription(
      "Size of the root volume, such as 20Gi; at least 2Gi. The copy-on-write clone of the image"
          + " is grown to it and the guest grows its filesystem at boot. It can grow, never"
          + " shrink.")
  @Default("10Gi")
  @Size(max = 32)
  @ValidationRule(value = "isQuantity(self)", message = "rootDisk must be a quantity such as 10Gi")
  @ValidationRule(
      value = "!isQuantity(self) || quantity(self).compareTo(quantity('2Gi')) >= 0",
      message = "rootDisk must be at least 2Gi")
  @ValidationRule(
      value =
          "!isQuantity(self) || !isQuantity(oldSelf)"
              + " || quantity(self).compareTo(quantity(oldSelf)) >= 0",
      message = "rootDisk cannot shrink; the root filesystem would lose data")
  public String rootDisk;

  @JsonPropertyDescription(
      "Always keeps the VM running; RerunOnFailure restarts it only after a failure; Halted"
          + " keeps it stopped.")
  @Default("Always")
  public RunStrategy runStrategy;

  @JsonPropertyDescription("Pause the VM's CPUs, keeping its memory; false resumes it.")
  @Default("false")
  public Boolean paused;

  @JsonPropertyDescription("Run only on hosts whose labels match all of these.")
  public Map<String, String> nodeSelector;

  @JsonPropertyDescription(
      "Extra OpenSSH public keys authorised in the VM, besides the owner's keys.")
  @ValidationRule(value = Api.SSH_KEYS_RULE, message = Api.SSH_KEYS_MESSAGE)
  @Size(max = 32)
  public List<@Size(max = 8192) String> sshKeys;

  @JsonPropertyDescription("How the HTTPS gateway serves the VM's web server.")
  public HttpSpec http;

  @JsonPropertyDescription(
      "The User (by name) who owns the VM and may reach it. Cannot be changed once set.")
  @Size(max = 253)
  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  public String owner;

  /** How the VM's web port is exposed at https://vm.domain. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class HttpSpec {
    @JsonPropertyDescription(
        "The port the VM's web server listens on; when absent, the port the guest agent"
            + " reports.")
    @Min(1)
    @Max(65535)
    public Integer port;

    @JsonPropertyDescription("true lets anyone in without signing in; false (default) is private.")
    @JsonProperty("public")
    @Default("false")
    public Boolean isPublic;
  }
}
