package dev.vmctl.https.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class UsedNoncesTest {
  @Test
  void aNonceWorksOnceAndIsForgottenAfterExpiry() {
    Instant now = Instant.parse("2026-11-23T10:00:00Z");
    MutableClock clock = new MutableClock(now);
    UsedNonces nonces = new UsedNonces(clock);
    assertThat(nonces.markUsed("n1", now.plusSeconds(300))).isTrue();
    assertThat(nonces.markUsed("n1", now.plusSeconds(300))).isFalse();
    assertThat(nonces.isUsed("n1")).isTrue();
    clock.now = now.plusSeconds(301);
    assertThat(nonces.markUsed("n2", now.plusSeconds(600))).isTrue();
    assertThat(nonces.isUsed("n1")).isFalse();
    assertThat(nonces.size()).isEqualTo(1);
  }

  private static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
