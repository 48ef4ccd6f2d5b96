package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.CertifiedKey;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.https.tls.SwappableCertificates;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ACME certificates for the gateway ({@code VMCTL_TLS_MODE=acme}). {@link #start()} loads what the
 * Secrets hold (a restart re-issues nothing that is still good), then a background check issues
 * what is missing and renews what is due. A new certificate is saved to its Secret first, then
 * swapped into the store: new handshakes get it, open connections keep theirs. A failure keeps the
 * current certificate, counts in {@code vmctl_https_certificate_failures_total} and is retried with
 * backoff.
 */
public final class AcmeCertificates implements CertificateStore, Http01Challenges, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AcmeCertificates.class);

  private final List<CertificateRequest> requests;
  private final TlsSecrets secrets;
  private final AcmeIssuer issuer;
  private final PendingHttp01 http01;
  private final RenewalPolicy policy;
  private final Backoff backoff;
  private final Duration checkInterval;
  private final Clock clock;
  private final MeterRegistry registry;
  private final SwappableCertificates store = new SwappableCertificates();
  private final Map<String, Integer> failures = new ConcurrentHashMap<>();
  private final Map<String, Instant> retryAfter = new ConcurrentHashMap<>();
  private final Map<String, Counter> failureCounters = new ConcurrentHashMap<>();
  private volatile ScheduledExecutorService scheduler;

  public AcmeCertificates(
      List<CertificateRequest> requests,
      TlsSecrets secrets,
      AcmeIssuer issuer,
      PendingHttp01 http01,
      RenewalPolicy policy,
      Backoff backoff,
      Duration checkInterval,
      Clock clock,
      MeterRegistry registry) {
    this.requests = List.copyOf(requests);
    this.secrets = secrets;
    this.issuer = issuer;
    this.http01 = http01;
    this.policy = policy;
    this.backoff = backoff;
    this.checkInterval = checkInterval;
    this.clock = clock;
    this.registry = registry;
    for (CertificateRequest request : requests) {
      Gauge.builder("vmctl.https.certificate.expiry", () -> secondsLeft(request))
          .baseUnit("seconds")
          .description("Seconds until the certificate's notAfter (negative: expired, NaN: none)")
          .tag("name", request.name())
          .register(registry);
      failureCounters.put(
          request.name(),
          Counter.builder("vmctl.https.certificate.failures")
              .description("Failed certificate issuances and renewals")
              .tag("name", request.name())
              .register(registry));
    }
  }

  /** Loads the stored certificates, then checks in the background every {@code checkInterval}. */
  public synchronized void start() {
    loadStored();
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "vmctl-acme-renewal");
              t.setDaemon(true);
              return t;
            });
    // Tick at the first backoff step when that is shorter, so a retry is not held until the
    // next regular check; a tick with nothing due or still backing off costs no API call.
    Duration tick = backoff.first().compareTo(checkInterval) < 0 ? backoff.first() : checkInterval;
    scheduler.scheduleWithFixedDelay(this::checkQuietly, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Puts every readable stored certificate into the store (also expired-soon ones: better than
   * none).
   */
  public void loadStored() {
    for (CertificateRequest request : requests) {
      secrets
          .load(request)
          .ifPresent(
              key -> {
                store.put(request.name(), key);
                LOG.info(
                    "loaded certificate {} from Secret {} (serial {}, valid until {})",
                    request.name(),
                    request.secretName(),
                    key.chain().get(0).getSerialNumber().toString(16),
                    key.notAfter());
              });
    }
  }

  /**
   * Issues every certificate that is missing, due or for other names, unless it is backing off
   * after a failure. Returns how many were issued.
   */
  public synchronized int checkNow() throws InterruptedException {
    int issued = 0;
    Instant now = clock.instant();
    for (CertificateRequest request : requests) {
      Optional<CertifiedKey> current = store.get(request.name());
      if (!needsIssuing(request, current, now)) {
        continue;
      }
      Instant notBefore = retryAfter.get(request.name());
      if (notBefore != null && now.isBefore(notBefore)) {
        continue;
      }
      // Another replica (or an earlier run) may have stored a good one meanwhile: use it.
      Optional<CertifiedKey> stored = secrets.load(request);
      if (stored.isPresent() && !needsIssuing(request, stored, now)) {
        store.put(request.name(), stored.get());
        LOG.info("certificate {} taken from Secret {}", request.name(), request.secretName());
        continue;
      }
      try {
        CertifiedKey fresh = issuer.issue(request);
        secrets.save(request, fresh);
        store.put(request.name(), fresh);
        failures.remove(request.name());
        retryAfter.remove(request.name());
        issued++;
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        int n = failures.merge(request.name(), 1, Integer::sum);
        Duration wait = backoff.delay(n);
        retryAfter.put(request.name(), now.plus(wait));
        failureCounters.get(request.name()).increment();
        LOG.warn(
            "certificate {} not issued (failure {}; {}), retrying in {}; {}",
            request.name(),
            n,
            e.getMessage(),
            wait,
            current.isPresent() ? "keeping the current one" : "none to serve yet");
      }
    }
    return issued;
  }

  /** Missing, due for renewal, or issued for a different set of names. */
  static boolean needsIssuing(
      CertificateRequest request,
      Optional<CertifiedKey> current,
      Instant now,
      RenewalPolicy policy) {
    return current.isEmpty()
        || policy.due(current.get().chain().get(0), now)
        || !current.get().names().equals(request.domains());
  }

  private boolean needsIssuing(
      CertificateRequest request, Optional<CertifiedKey> current, Instant now) {
    return needsIssuing(request, current, now, policy);
  }

  private void checkQuietly() {
    try {
      checkNow();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.warn("certificate check failed: {}", e.toString());
    }
  }

  private double secondsLeft(CertificateRequest request) {
    return store
        .get(request.name())
        .map(k -> (double) Duration.between(clock.instant(), k.notAfter()).toSeconds())
        .orElse(Double.NaN);
  }

  public Optional<CertifiedKey> current(String name) {
    return store.get(name);
  }

  @Override
  public Optional<CertifiedKey> forServerName(String serverName) {
    return store.forServerName(serverName);
  }

  @Override
  public Optional<String> keyAuthorization(String token) {
    return http01.keyAuthorization(token);
  }

  @Override
  public void close() {
    ScheduledExecutorService running = scheduler;
    if (running != null) {
      running.shutdownNow(); // interrupts an order in progress; its challenges are withdrawn
      try {
        if (!running.awaitTermination(10, TimeUnit.SECONDS)) {
          LOG.warn("certificate renewal thread did not stop within 10 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
