package dev.vmctl.node.fakes;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A clock that follows real time plus an offset tests move forward (a backoff, a grace). */
public final class MutableClock extends Clock {
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);
  private volatile boolean frozen;
  private volatile Instant frozenAt;

  /** Stops the clock at its current time until {@link #advance} or {@link #thaw}. */
  public void freeze() {
    frozenAt = instant();
    frozen = true;
  }

  public void thaw() {
    frozen = false;
  }

  public void advance(Duration d) {
    if (frozen) {
      frozenAt = frozenAt.plus(d);
    }
    offset.updateAndGet(o -> o.plus(d));
  }

  @Override
  public Instant instant() {
    return frozen ? frozenAt : Instant.now().plus(offset.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
