package dev.vmctl.https.acme;

import java.time.Duration;

/** Retry delays after failed issuance: doubling from {@code first}, capped at {@code max}. */
public record Backoff(Duration first, Duration max) {
  public static final Backoff DEFAULT = new Backoff(Duration.ofMinutes(1), Duration.ofHours(6));

  /** The delay after {@code failures} consecutive failures (1 = the first failure). */
  public Duration delay(int failures) {
    if (failures <= 0) {
      return Duration.ZERO;
    }
    int shift = Math.min(failures - 1, 30);
    Duration d = first.multipliedBy(1L << shift);
    return d.compareTo(max) > 0 ? max : d;
  }
}
