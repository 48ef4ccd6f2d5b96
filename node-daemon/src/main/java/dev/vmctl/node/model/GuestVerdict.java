package dev.vmctl.node.model;

import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Duration;
import java.time.Instant;

/** What one short look at the guest agent means for a VM: a pure judgement, never a wait. */
public enum GuestVerdict {
  /** The agent answered and sshd listens (or has had its time): Running, Ready. */
  READY,
  /** The agent answered; sshd, which starts after it, does not listen yet: look again soon. */
  WAITING_FOR_SSH,
  /** The agent did not answer, and a boot is still within its time: look again soon. */
  BOOTING,
  /** The agent did not answer a VM that should have one: Ready=False AgentUnreachable. */
  UNREACHABLE;

  /** How long a boot may take to reach the agent before the VM counts as unreachable. */
  public static final Duration AGENT_WAIT =
      Duration.ofSeconds(Long.getLong("vmctl.agentWaitSeconds", 300));

  /** How long after configuration the VM waits for sshd before it is Ready anyway. */
  public static final Duration SSH_WAIT = Duration.ofSeconds(90);

  /**
   * @param phase the VM's phase before this look
   * @param answered the agent answered hello
   * @param sshListening port 22 is among the guest's listening ports
   * @param bootStarted when the current boot started
   * @param configuredAt when the agent was last configured (null: not by this daemon); before
   *     {@code bootStarted}, an earlier boot
   */
  public static GuestVerdict judge(
      VmPhase phase,
      boolean answered,
      boolean sshListening,
      Instant bootStarted,
      Instant configuredAt,
      Instant now) {
    if (!answered) {
      // Not yet configured in this boot: still booting, whatever the phase (a seeded boot is
      // Running as soon as sshd listens, before the agent answers; decision 29).
      boolean configuredThisBoot = configuredAt != null && !configuredAt.isBefore(bootStarted);
      return !configuredThisBoot
              && phase != VmPhase.Failed
              && now.isBefore(bootStarted.plus(AGENT_WAIT))
          ? BOOTING
          : UNREACHABLE;
    }
    Instant configured = configuredAt == null ? now : configuredAt;
    if (!sshListening && phase != VmPhase.Running && now.isBefore(configured.plus(SSH_WAIT))) {
      return WAITING_FOR_SSH;
    }
    return READY;
  }
}
