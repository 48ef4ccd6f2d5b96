package dev.vmctl.https.acme;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/**
 * When a certificate is renewed: once less than {@code remainingFraction} of its lifetime is left
 * (1/3 by default: day 60 of a 90-day certificate), well before expiry so that failures have weeks
 * to be retried.
 */
public record RenewalPolicy(double remainingFraction) {
  public static final RenewalPolicy DEFAULT = new RenewalPolicy(1.0 / 3);

  public RenewalPolicy {
    if (!(remainingFraction > 0 && remainingFraction < 1)) {
      throw new IllegalArgumentException(
          "renewal fraction must be between 0 and 1 (exclusive), got " + remainingFraction);
    }
  }

  public Instant renewAt(Instant notBefore, Instant notAfter) {
    Duration lifetime = Duration.between(notBefore, notAfter);
    return notAfter.minusMillis((long) (lifetime.toMillis() * remainingFraction));
  }

  public Instant renewAt(X509Certificate leaf) {
    return renewAt(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
  }

  public boolean due(X509Certificate leaf, Instant now) {
    return !now.isBefore(renewAt(leaf));
  }
}
