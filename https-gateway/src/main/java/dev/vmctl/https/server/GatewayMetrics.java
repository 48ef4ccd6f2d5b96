package dev.vmctl.https.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The serving side's metrics (certificate expiry is registered by the certificate side). */
public final class GatewayMetrics {
  private final MeterRegistry registry;
  private final AtomicInteger activeConnections = new AtomicInteger();
  // Meters looked up once per status/outcome, not built on every request.
  private final Map<String, Counter[]> counters = new ConcurrentHashMap<>();
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder("vmctl_https_active_connections", activeConnections, AtomicInteger::get)
        .description("Open client connections (TLS and plain)")
        .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public void connectionOpened() {
    activeConnections.incrementAndGet();
  }

  public void connectionClosed() {
    activeConnections.decrementAndGet();
  }

  /** One finished request: counted by status and outcome, timed in a histogram by outcome. */
  public void request(int status, String outcome, long nanos) {
    // Per outcome an array by status: no key string built per request.
    Counter[] byStatus = counters.computeIfAbsent(outcome, k -> new Counter[600]);
    int slot = status >= 0 && status < byStatus.length ? status : 0;
    Counter counter = byStatus[slot];
    if (counter == null) {
      // Micrometer hands back the registered meter for the same name and tags: a race between
      // two event loops here registers one meter.
      counter =
          Counter.builder("vmctl_https_requests")
              .description("Requests by status")
              .tag("status", Integer.toString(status))
              .tag("outcome", outcome)
              .register(registry);
      byStatus[slot] = counter;
    }
    counter.increment();
    timers
        .computeIfAbsent(
            outcome,
            k ->
                Timer.builder("vmctl_https_request_duration")
                    .description("Time from request head to the end of the response")
                    .tag("outcome", outcome)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(60))
                    .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A client connection closed by the gateway before a request: {@code header-timeout} etc. */
  public void rejectedConnection(String reason) {
    rejected
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder("vmctl_https_rejected_connections")
                    .description("Client connections closed for a limit before a request")
                    .tag("reason", r)
                    .register(registry))
        .increment();
  }

  /** A backend could not be reached or failed mid-response. */
  public void backendError(String reason) {
    Counter.builder("vmctl_https_backend_errors")
        .description("Backend connection failures, resets and timeouts")
        .tag("reason", reason)
        .register(registry)
        .increment();
  }
}
