package dev.vmctl.api.v1alpha1;

/** Where a VM is in its life; conditions carry the detail. */
public enum VmPhase {
  Pending,
  Scheduled,
  Provisioning,
  Starting,
  Running,
  Paused,
  Stopping,
  Stopped,
  Failed,
  Unknown,
  Terminating
}
