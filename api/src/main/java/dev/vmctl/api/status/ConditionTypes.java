package dev.vmctl.api.status;

/**
 * The condition types vmctl writes (metav1.Condition {@code type}), one place for the operator, the
 * node daemon and the gateways that read them. docs/api.md says what each one means.
 */
public final class ConditionTypes {
  private ConditionTypes() {}

  /** VM: the guest answers its agent. User, Share, Host: the object is usable. */
  public static final String READY = "Ready";

  /** VM, written by the operator: a host and a reservation were granted. */
  public static final String SCHEDULED = "Scheduled";

  /** VM, written by the operator's host-loss reconciler: its host stopped sending heartbeats. */
  public static final String NODE_LOST = "NodeLost";

  /** VM, written by the operator: whether a larger spec was granted a larger reservation. */
  public static final String RESIZED = "Resized";

  /** VM, written by the node daemon: volumes and network exist on the host. */
  public static final String PROVISIONED = "Provisioned";

  /** VM, written by the node daemon: the guest's vCPUs are stopped. */
  public static final String PAUSED = "Paused";

  /** VM, written by the node daemon: the spec asks for something only a restart applies. */
  public static final String RESTART_REQUIRED = "RestartRequired";

  /** VM, written by the node daemon: the owner and share keys are installed in the guest. */
  public static final String KEYS_APPLIED = "KeysApplied";
}
