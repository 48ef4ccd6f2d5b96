package dev.vmctl.https.access;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Nonces of tokens that must not work again (used login tokens, signed-out sessions), each
 * remembered until its token would have expired anyway. Per replica, which the short login lifetime
 * bounds (docs/gateways.md decision 5).
 */
public final class UsedNonces {
  private final Map<String, Instant> expiries = new ConcurrentHashMap<>();
  private final Clock clock;

  public UsedNonces(Clock clock) {
    this.clock = clock;
  }

  /** Records the nonce; false when it was already recorded (a replay). */
  public boolean markUsed(String nonce, Instant expiresAt) {
    purge();
    return expiries.putIfAbsent(nonce, expiresAt) == null;
  }

  public boolean isUsed(String nonce) {
    return expiries.containsKey(nonce);
  }

  public int size() {
    return expiries.size();
  }

  private void purge() {
    Instant now = clock.instant();
    expiries.values().removeIf(expiry -> !now.isBefore(expiry));
  }
}
