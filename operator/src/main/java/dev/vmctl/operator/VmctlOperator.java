package dev.vmctl.operator;

import com.sun.net.httpserver.HttpServer;
import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.operator.hosts.HostLossReconciler;
import dev.vmctl.operator.quota.QuotaReconciler;
import dev.vmctl.operator.scheduling.Ledger;
import dev.vmctl.operator.scheduling.VmReconciler;
import dev.vmctl.operator.shares.ShareReconciler;
import dev.vmctl.operator.users.UserReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster operator: JOSDK controllers for VMs (scheduling), Quotas, Users and Shares, behind
 * leader election, with /metrics, /healthz and /readyz on an HTTP port.
 */
public final class VmctlOperator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmctlOperator.class);

  private final Operator operator;
  private final VmReconciler vms;
  private final EventRecorder events;
  private final HttpServer http;
  private final AtomicBoolean leader = new AtomicBoolean();
  private final AtomicBoolean lostLeadership = new AtomicBoolean();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final LeaseWatchdog watchdog;
  private final Runnable afterLostLeadership;
  private final String identity;
  private final PrometheusMeterRegistry registry;

  private VmctlOperator(
      KubernetesClient client, OperatorConfig config, String identity, Runnable afterLostLeadership)
      throws IOException {
    this.identity = identity;
    this.afterLostLeadership = afterLostLeadership;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Clock clock = Clock.systemUTC();
    Duration lease = config.leaseDuration();
    this.watchdog =
        new LeaseWatchdog(
            client,
            config.leaseNamespace(),
            "vmctl-operator",
            identity,
            lease.multipliedBy(2).dividedBy(3),
            lease.dividedBy(5),
            clock,
            this::stoppedLeading);
    LeaderElectionConfiguration election =
        new LeaderElectionConfiguration(
            "vmctl-operator",
            config.leaseNamespace(),
            lease,
            lease.multipliedBy(2).dividedBy(3),
            lease.dividedBy(5),
            identity,
            new LeaderCallbacks(
                () -> {
                  log.info("{} became leader", identity);
                  leader.set(true);
                  watchdog.startedLeading();
                },
                this::stoppedLeading,
                newLeader -> log.info("leader is now {}", newLeader)),
            false);
    this.operator =
        new Operator(
            o ->
                o.withKubernetesClient(client)
                    .withLeaderElectionConfiguration(election)
                    .withConcurrentReconciliationThreads(16)
                    .withCloseClientOnStop(false)
                    .withUseSSAToPatchPrimaryResource(false));
    Ledger ledger = new Ledger();
    this.events = new EventRecorder(client, "vmctl-operator", clock);
    this.vms =
        new VmReconciler(client, config, ledger, clock, registry, events, lostLeadership::get);
    operator.register(vms, o -> o.withItemStore(new TrimmingItemStore<>()));
    operator.register(
        new HostLossReconciler(
            client, config.heartbeatGrace(), clock, events, lostLeadership::get, vms::vmsOn),
        o -> o.withItemStore(new TrimmingItemStore<>()));
    operator.register(new QuotaReconciler(), o -> o.withItemStore(new TrimmingItemStore<>()));
    operator.register(
        new UserReconciler(config, clock, events), o -> o.withItemStore(new TrimmingItemStore<>()));
    operator.register(
        new ShareReconciler(config, clock), o -> o.withItemStore(new TrimmingItemStore<>()));
    this.http =
        HttpServer.create(
            config.httpBindAddress().isBlank()
                ? new InetSocketAddress(config.httpPort())
                : new InetSocketAddress(config.httpBindAddress(), config.httpPort()),
            0);
    http.createContext("/metrics", ex -> respond(ex, 200, registry.scrape()));
    http.createContext("/healthz", ex -> respond(ex, 200, "ok\n"));
    http.createContext(
        "/readyz",
        ex -> {
          if (lostLeadership.get()) {
            respond(ex, 503, "lost leadership: stopping\n");
          } else {
            respond(ex, 200, leader.get() ? "ok: leader\n" : "ok: standby\n");
          }
        });
  }

  /**
   * A leader that could not renew its lease must assume another replica leads now: its ledger is
   * stale, and scheduling on would double-book hosts (issue 22). It stops reconciling at once (the
   * reconcilers check the flag before every decision), stops the controllers, then runs {@code
   * afterLostLeadership}: in the real process that exits, and the Deployment restarts it as a fresh
   * standby that rejoins the election with a ledger rebuilt from the API server.
   */
  private void stoppedLeading() {
    boolean wasLeader = leader.getAndSet(false);
    if (!wasLeader || closing.get()) {
      return; // never led, or gave the lease up by closing
    }
    lostLeadership.set(true);
    log.error("{} lost leadership; stopping all reconciling", identity);
    Thread stopper =
        new Thread(
            () -> {
              try {
                close();
              } finally {
                afterLostLeadership.run();
              }
            },
            "lost-leadership");
    stopper.setDaemon(true);
    stopper.start();
  }

  /** In-process (tests, local runs): a lost leadership stops this instance, the JVM stays. */
  public static VmctlOperator start(KubernetesClient client, OperatorConfig config, String identity)
      throws IOException {
    return start(client, config, identity, () -> {});
  }

  public static VmctlOperator start(
      KubernetesClient client, OperatorConfig config, String identity, Runnable afterLostLeadership)
      throws IOException {
    VmctlOperator vmctl = new VmctlOperator(client, config, identity, afterLostLeadership);
    vmctl.http.start();
    vmctl.operator.start();
    log.info("operator {} started; metrics on :{}", identity, vmctl.httpPort());
    return vmctl;
  }

  public boolean isLeader() {
    return leader.get();
  }

  /** True once this instance lost its lease: it reconciles nothing any more. */
  public boolean lostLeadership() {
    return lostLeadership.get();
  }

  public String identity() {
    return identity;
  }

  public int httpPort() {
    return http.getAddress().getPort();
  }

  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    watchdog.close();
    operator.stop();
    events.close();
    http.stop(0);
  }

  private static void respond(com.sun.net.httpserver.HttpExchange ex, int code, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  public static void main(String[] args) throws Exception {
    OperatorConfig config = OperatorConfig.fromEnvironment(System.getenv());
    String identity =
        System.getenv()
            .getOrDefault("POD_NAME", "operator-" + UUID.randomUUID().toString().substring(0, 8));
    KubernetesClient client = new KubernetesClientBuilder().build();
    // Exit on a lost lease (status 1); the Deployment starts a fresh standby.
    VmctlOperator vmctl = start(client, config, identity, () -> System.exit(1));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("shutting down");
                  vmctl.close();
                  client.close();
                }));
    Thread.currentThread().join();
  }
}
