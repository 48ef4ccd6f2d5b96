package dev.vmctl.operator;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends this replica's leadership when it cannot prove it still holds the lease. The client's leader
 * elector did not notice a partition from the API server (observed 2026-12-01: it retried its
 * renewals for as long as the partition lasted and never called stop-leading), so a leader cut off
 * for longer than the renew deadline went on scheduling next to the new leader. The watchdog reads
 * the Lease every period; unless it shows this identity as holder with a renewal younger than the
 * renew deadline, the lease counts as lost from the last proof on.
 */
final class LeaseWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseWatchdog.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final String identity;
  private final Duration renewDeadline;
  private final Clock clock;
  private final Runnable onLost;
  private final ScheduledExecutorService checks;
  private final AtomicBoolean leading = new AtomicBoolean();
  private volatile Instant lastProof = Instant.EPOCH;

  LeaseWatchdog(
      KubernetesClient client,
      String namespace,
      String name,
      String identity,
      Duration renewDeadline,
      Duration period,
      Clock clock,
      Runnable onLost) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.identity = identity;
    this.renewDeadline = renewDeadline;
    this.clock = clock;
    this.onLost = onLost;
    this.checks =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "lease-watchdog-" + identity);
              t.setDaemon(true);
              return t;
            });
    // Two tasks: the read may block up to the client's request timeout, the deadline check not.
    checks.scheduleWithFixedDelay(this::read, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    checks.scheduleWithFixedDelay(this::check, 100, 100, TimeUnit.MILLISECONDS);
  }

  /** Called when this replica becomes leader: the elector just renewed the lease. */
  void startedLeading() {
    lastProof = clock.instant();
    leading.set(true);
  }

  private void read() {
    if (!leading.get()) {
      return;
    }
    try {
      Lease lease = client.leases().inNamespace(namespace).withName(name).get();
      if (lease == null || lease.getSpec() == null) {
        return;
      }
      if (!identity.equals(lease.getSpec().getHolderIdentity())) {
        lost("the lease is held by " + lease.getSpec().getHolderIdentity());
        return;
      }
      if (lease.getSpec().getRenewTime() != null) {
        Instant renewed = lease.getSpec().getRenewTime().toInstant();
        if (Duration.between(renewed, clock.instant()).compareTo(renewDeadline) < 0) {
          lastProof = clock.instant();
        }
      }
    } catch (RuntimeException e) {
      // unreachable API server: no proof this time; check() decides
    }
  }

  private void check() {
    if (leading.get()
        && Duration.between(lastProof, clock.instant()).compareTo(renewDeadline) > 0) {
      lost("no renewal could be confirmed for " + renewDeadline.toMillis() + " ms");
    }
  }

  private void lost(String why) {
    if (leading.compareAndSet(true, false)) {
      log.error("{}: leadership lost ({})", identity, why);
      onLost.run();
    }
  }

  @Override
  public void close() {
    leading.set(false);
    checks.shutdownNow();
  }
}
