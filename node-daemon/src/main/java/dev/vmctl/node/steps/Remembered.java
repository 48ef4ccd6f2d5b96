package dev.vmctl.node.steps;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this daemon remembers of each VM between passes. Lost when the daemon restarts, which is
 * safe: the guest is configured again (idempotent), keys installed again, a crash count restarts.
 */
public final class Remembered {
  /** One VM's facts. One pass at a time per VM (the operator framework's guarantee). */
  public static final class Vm {
    public volatile String configuredBoot;
    public volatile Instant configuredAt;
    public volatile List<String> appliedKeys;
    public volatile int crashes;
    public volatile Instant lastStart;
    public volatile Instant stopRequestedAt;

    /** A new boot (or none): configuration and keys are applied again. */
    public void forgetBoot() {
      configuredBoot = null;
      configuredAt = null;
      appliedKeys = null;
    }
  }

  private final Map<String, Vm> vms = new ConcurrentHashMap<>();

  public Vm of(String planId) {
    return vms.computeIfAbsent(planId, id -> new Vm());
  }

  public void forget(String planId) {
    vms.remove(planId);
  }
}
