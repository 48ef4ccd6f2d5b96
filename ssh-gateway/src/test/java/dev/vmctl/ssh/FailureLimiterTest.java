package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class FailureLimiterTest {
  private Instant now = Instant.parse("2026-11-23T10:00:00Z");
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneOffset getZone() {
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
      };

  @Test
  void blocksASourceAtTheLimitUntilItsFailuresAge() {
    FailureLimiter limiter = new FailureLimiter(3, Duration.ofMinutes(10), clock);
    assertThat(limiter.failed("1.2.3.4")).isFalse();
    now = now.plus(Duration.ofMinutes(2));
    limiter.failed("1.2.3.4");
    assertThat(limiter.blocked("1.2.3.4")).isFalse();
    assertThat(limiter.blockedFor("1.2.3.4")).isEmpty();
    assertThat(limiter.failed("1.2.3.4")).as("the failure that blocks").isTrue();
    assertThat(limiter.blocked("1.2.3.4")).isTrue();
    assertThat(limiter.blockedFor("1.2.3.4"))
        .as("until the first failure is 10 min old")
        .contains(Duration.ofMinutes(8));
    assertThat(limiter.failed("1.2.3.4")).as("already blocked").isFalse();
    assertThat(limiter.blocked("5.6.7.8")).isFalse(); // per source
    now = now.plus(Duration.ofMinutes(11));
    assertThat(limiter.blocked("1.2.3.4")).isFalse();
  }
}
