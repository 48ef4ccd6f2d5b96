package dev.vmctl.node.model;

import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Duration;
import java.time.Instant;

/**
 * What a pass does with a seeded boot before its agent has answered (decision 29): the guest prints
 * its token on the console once SSH works and starts its agent only after that, so until the line
 * is there, probing the agent only spends the probe's timeout on a vsock nobody serves yet. A pure
 * judgement, never a wait.
 */
public enum SeedVerdict {
  /** The console has this boot's ready line: Running (Ready, SshReady), and write that now. */
  MARK_RUNNING,
  /** No ready line yet, within the grace: look at the console again soon, no agent probe. */
  WATCH_CONSOLE,
  /** Not a seeded boot, already Running, configured, or past the grace: ask the agent. */
  ASK_AGENT;

  /** How long a seeded boot may take to print its line before the agent is asked anyway. */
  public static final Duration GRACE = Duration.ofSeconds(60);

  /**
   * @param seeded the boot was seeded with a token (its image has the seed directory)
   * @param readyOnConsole the console shows this boot's token
   * @param configuredAt when the agent was last configured (null: not by this daemon)
   */
  public static SeedVerdict judge(
      VmPhase phase,
      boolean seeded,
      boolean readyOnConsole,
      Instant bootStarted,
      Instant configuredAt,
      Instant now) {
    boolean configuredThisBoot = configuredAt != null && !configuredAt.isBefore(bootStarted);
    if (!seeded || configuredThisBoot || phase == VmPhase.Running) {
      return ASK_AGENT;
    }
    if (readyOnConsole) {
      return MARK_RUNNING;
    }
    return now.isBefore(bootStarted.plus(GRACE)) ? WATCH_CONSOLE : ASK_AGENT;
  }
}
