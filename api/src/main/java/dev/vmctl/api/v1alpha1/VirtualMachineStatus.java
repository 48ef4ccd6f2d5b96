package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the operator and the node daemon observed; written only by controllers. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VirtualMachineStatus {
  @JsonPropertyDescription("Where the VM is in its life; conditions carry the detail.")
  public VmPhase phase;

  @JsonPropertyDescription("The Host the scheduler placed the VM on.")
  public String nodeName;

  @JsonPropertyDescription("The VM's stable address on its host's VM subnet.")
  public String ipAddress;

  @JsonPropertyDescription("The VM's stable MAC address.")
  public String macAddress;

  @JsonPropertyDescription("The VM's vsock context id, unique on its host.")
  public Long vsockCid;

  @JsonPropertyDescription(
      "Scheduled, Provisioned, Ready, Paused, RestartRequired, NodeLost: each with the"
          + " generation it describes.")
  public List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("The spec generation this status describes.")
  public Long observedGeneration;

  @JsonPropertyDescription("The resources the scheduler reserved on the host and in the quota.")
  public ResourceAmounts allocated;

  @JsonPropertyDescription("What the guest agent reports.")
  public GuestStatus guest;

  @JsonPropertyDescription("How many times the node has restarted the VM.")
  public Integer restartCount;

  @JsonPropertyDescription("The value of the restartedAt annotation the node last acted on.")
  public String restartedAt;

  @JsonPropertyDescription("When the VM entered each phase, most recent last.")
  public List<PhaseTransition> phaseTransitions = new ArrayList<>();

  @JsonPropertyDescription("How to reach the VM by SSH through the gateway.")
  public String sshCommand;

  @JsonPropertyDescription("The VM's web address through the HTTPS gateway.")
  public String url;

  @JsonPropertyDescription(
      "The VM's SSH host public keys, one OpenSSH line each (ssh-ed25519 AAAA...). The node"
          + " daemon makes them on the host and hands them to the guest before its sshd starts;"
          + " the SSH gateway connects only to a VM that presents one of them, and 'known-hosts'"
          + " prints them for ProxyJump users.")
  public List<String> sshHostKeys;

  /** One entry of the phase history. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PhaseTransition {
    public VmPhase phase;

    @JsonPropertyDescription("RFC 3339 time the phase was entered.")
    public String time;

    public PhaseTransition() {}

    public PhaseTransition(VmPhase phase, String time) {
      this.phase = phase;
      this.time = time;
    }
  }

  /** Facts the guest agent reported, refreshed periodically. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class GuestStatus {
    public String agentVersion;
    public String os;
    public String kernel;
    public String hostname;
    public String bootId;
    public Long uptimeSeconds;

    @JsonPropertyDescription("CPU use over the last sampling interval, percent of all vCPUs.")
    public Double cpuPercent;

    public Long memoryUsedBytes;
    public Long memoryTotalBytes;
    public Long diskUsedBytes;
    public Long diskTotalBytes;

    @JsonPropertyDescription("TCP ports listening in the guest.")
    public List<Integer> listeningPorts;

    @JsonPropertyDescription("RFC 3339 time of the last report.")
    public String updatedAt;
  }
}
