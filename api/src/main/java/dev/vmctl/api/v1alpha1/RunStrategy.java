package dev.vmctl.api.v1alpha1;

/** Whether the node keeps a VM running. */
public enum RunStrategy {
  /** Keep it running; restart it (with backoff) whenever it stops for any reason. */
  Always,
  /** Restart it only after a failure (a crash or a non-zero exit), not after a guest shutdown. */
  RerunOnFailure,
  /** Keep it stopped; the volumes and address are kept. */
  Halted
}
