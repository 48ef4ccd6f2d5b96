package dev.vmctl.api.status;

/**
 * Condition and Event reasons: CamelCase words a program can match on; the message next to them is
 * the sentence for people. A reason names a state or a failure, never carries data (the host name,
 * the sizes, the quota belong in the message).
 */
public final class Reasons {
  private Reasons() {}

  // ---- Scheduled (operator) ----

  /** Scheduled=True: placed on a host; also the Normal Event. */
  public static final String SCHEDULED = "Scheduled";

  /** Scheduled=False: no host fits (the message has one clause per class of host). */
  public static final String UNSCHEDULABLE = "Unschedulable";

  /** Scheduled=False: a Quota of the namespace is full, or an older VM waits first. */
  public static final String QUOTA_EXCEEDED = "QuotaExceeded";

  /** Scheduled=False: the VM's User is disabled. */
  public static final String USER_DISABLED = "UserDisabled";

  /** Scheduled=False: spec.owner is not the User of the VM's namespace. */
  public static final String OWNER_MISMATCH = "OwnerMismatch";

  /**
   * Scheduled=False on a VM that has a host: it was stopped (its CPU and memory released) and is to
   * run again, but its host or its quota has no room for it now; it is admitted when room frees.
   */
  public static final String INSUFFICIENT_RESOURCES = "InsufficientResources";

  /**
   * Scheduled=True: the VM is stopped for good and gave back its CPU and memory; keeps its host.
   */
  public static final String RELEASED = "Released";

  /** Scheduled=True again: a stopped VM was granted its CPU and memory on its host again. */
  public static final String ADMITTED = "Admitted";

  /** The Warning Event that goes with Scheduled=False, as kube-scheduler names it. */
  public static final String FAILED_SCHEDULING = "FailedScheduling";

  // ---- NodeLost (operator, host-loss reconciler) ----

  /** NodeLost=True: the host's heartbeat is older than the grace period. */
  public static final String HEARTBEAT_MISSED = "HeartbeatMissed";

  /** NodeLost=True: the VM's Host object was deleted. */
  public static final String HOST_DELETED = "HostDeleted";

  /** NodeLost=False: the host sends heartbeats again. */
  public static final String HOST_RECOVERED = "HostRecovered";

  // ---- Resized (operator) ----

  /** Resized=True: the reservation matches the spec. */
  public static final String GRANTED = "Granted";

  /** Resized=False: the quota or the host has no room for the larger spec; also a Warning. */
  public static final String RESIZE_REFUSED = "ResizeRefused";

  // ---- User Ready (operator) ----

  public static final String PROVISIONED = "Provisioned";
  public static final String DISABLED = "Disabled";

  /** Ready=False: the namespace exists and was not made for this User. */
  public static final String NAMESPACE_TAKEN = "NamespaceTaken";

  // ---- Share Ready (operator) ----

  public static final String ACTIVE = "Active";
  public static final String VM_NOT_FOUND = "VMNotFound";
  public static final String VM_REPLACED = "VMReplaced";
  public static final String EXPIRED = "Expired";

  // The node daemon's (condition reasons and Event reasons; docs/node-daemon.md).
  public static final String IMAGE_MISSING = "ImageMissing";
  public static final String PROVISIONING_FAILED = "ProvisioningFailed";
  public static final String VERIFICATION_FAILED = "VerificationFailed";
  public static final String VOLUMES_AND_NETWORK_READY = "VolumesAndNetworkReady";
  public static final String IDENTITY_CONFLICT = "IdentityConflict";
  public static final String HALTED = "Halted";

  /** Ready=False: the spec asks the VM to run, the operator has not granted its CPU and memory. */
  public static final String AWAITING_ADMISSION = "AwaitingAdmission";

  public static final String GUEST_POWERED_OFF = "GuestPoweredOff";
  public static final String RESTARTING = "Restarting";
  public static final String HYPERVISOR_EXITED = "HypervisorExited";
  public static final String HYPERVISOR_START_FAILED = "HypervisorStartFailed";
  public static final String STARTING = "Starting";
  public static final String BOOTING = "Booting";
  public static final String PAUSED_BY_SPEC = "PausedBySpec";
  public static final String RESUMED = "Resumed";
  public static final String RESIZED_LIVE = "Resized";
  public static final String RESIZE_NEEDS_RESTART = "ResizeNeedsRestart";
  public static final String SIZE_APPLIED = "SizeApplied";
  public static final String AGENT_UNREACHABLE = "AgentUnreachable";
  public static final String GUEST_CONFIGURATION_FAILED = "GuestConfigurationFailed";
  public static final String KEYS_REJECTED = "KeysRejected";
  public static final String KEYS_INSTALLED = "Installed";
  public static final String AGENT_CONNECTED = "AgentConnected";

  /** Running before the agent answered: the guest said on its console that sshd listens. */
  public static final String SSH_READY = "SshReady";

  public static final String RUNNING = "Running";
}
