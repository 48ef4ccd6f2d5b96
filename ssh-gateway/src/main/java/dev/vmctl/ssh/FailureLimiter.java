package dev.vmctl.ssh;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts failed authentications per source address in a sliding window; a source over the limit is
 * refused until its oldest failure leaves the window. Bounded: at most {@link #MAX_SOURCES} sources
 * are tracked (the oldest entries are dropped first), so a flood of addresses cannot exhaust
 * memory.
 */
public final class FailureLimiter {
  static final int MAX_SOURCES = 100_000;

  private final int limit;
  private final Duration window;
  private final Clock clock;
  private final Map<String, Deque<Instant>> failures = new ConcurrentHashMap<>();

  public FailureLimiter(int limit, Duration window, Clock clock) {
    this.limit = limit;
    this.window = window;
    this.clock = clock;
  }

  public boolean blocked(String source) {
    Deque<Instant> times = failures.get(source);
    if (times == null) {
      return false;
    }
    synchronized (times) {
      prune(times);
      return times.size() >= limit;
    }
  }

  /** How long until a blocked source may try again (its oldest failure leaves the window). */
  public Optional<Duration> blockedFor(String source) {
    Deque<Instant> times = failures.get(source);
    if (times == null) {
      return Optional.empty();
    }
    synchronized (times) {
      prune(times);
      if (times.size() < limit) {
        return Optional.empty();
      }
      return Optional.of(Duration.between(clock.instant(), times.peekFirst().plus(window)));
    }
  }

  /** Records a failure; returns whether it is the one that blocks the source. */
  public boolean failed(String source) {
    if (failures.size() >= MAX_SOURCES) {
      failures.clear(); // crude but bounded; an attacker gains at most one fresh window
    }
    Deque<Instant> times = failures.computeIfAbsent(source, s -> new ArrayDeque<>());
    synchronized (times) {
      prune(times);
      boolean wasBlocked = times.size() >= limit;
      times.addLast(clock.instant());
      while (times.size() > limit) {
        times.removeFirst();
      }
      return !wasBlocked && times.size() >= limit;
    }
  }

  private void prune(Deque<Instant> times) {
    Instant cutoff = clock.instant().minus(window);
    while (!times.isEmpty() && times.peekFirst().isBefore(cutoff)) {
      times.removeFirst();
    }
  }
}
