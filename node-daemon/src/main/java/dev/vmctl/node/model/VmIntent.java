package dev.vmctl.node.model;

import java.time.Instant;

/**
 * What one pass of the node daemon is to do with a VM, decided purely by {@link VmLifecycle}.
 *
 * @param power the lifecycle decision
 * @param restartedAt the restart annotation's value to record in status (unchanged when null)
 * @param countRestart status.restartCount goes up by one in this pass
 * @param crash the crash this pass records or recovers from (1, 2, …), 0 when none
 * @param notBefore the earliest time the next start may happen (crash backoff), or null
 * @param resize the running VM's size differs from its spec
 * @param paused the spec wants the running guest paused
 */
public record VmIntent(
    Power power,
    String restartedAt,
    boolean countRestart,
    int crash,
    Instant notBefore,
    boolean resize,
    boolean paused) {

  public enum Power {
    /** No identity on this host yet (or someone else's): claim one and record it; nothing else. */
    CLAIM_IDENTITY,
    /** runStrategy Halted: stop the guest (gracefully), keep volumes and address. */
    HALT,
    /** The guest powered itself off and runStrategy RerunOnFailure lets it stay off. */
    STAY_POWERED_OFF,
    /**
     * Stop the guest (gracefully) to start it again: the restart annotation or a stop under way.
     */
    RESTART,
    /** The hypervisor died: record the crash (Failed) now, restart after the backoff. */
    RECORD_CRASH,
    /** Failed, waiting out the crash backoff until {@code notBefore}. */
    BACK_OFF,
    /** No hypervisor process: provision and start one. */
    START,
    /**
     * No hypervisor process and the spec asks for one, but the operator has not granted the VM its
     * CPU and memory ({@code status.allocated}): stay stopped until it does.
     */
    AWAIT_ADMISSION,
    /** Running: keep it so (resize, pause, guest configuration, keys). */
    RUN
  }
}
