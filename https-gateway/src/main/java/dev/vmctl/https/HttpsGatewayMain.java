package dev.vmctl.https;

import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.GatewayKey;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.https.acme.CertificateSources;
import dev.vmctl.https.server.HttpsGateway;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.https.tls.PemCertificateStore;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the HTTPS gateway from environment variables (docs/https-gateway.md). */
public final class HttpsGatewayMain {
  private static final Logger LOG = LoggerFactory.getLogger(HttpsGatewayMain.class);

  private HttpsGatewayMain() {}

  public static void main(String[] args) throws Exception {
    GatewayConfig config = GatewayConfig.fromEnv(System.getenv());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    AtomicBoolean ready = new AtomicBoolean();
    Clock clock = Clock.systemUTC();
    KubernetesClient client = new KubernetesClientBuilder().build();
    CertificateSources certificates = certificates(config, System.getenv(), client, registry);
    try (AutoCloseable certificateCloser = certificates.closer();
        MetricsServer metrics =
            new MetricsServer(
                config.metricsBindAddress(), config.metricsPort(), registry, ready::get);
        Directory directory = Directory.start(client, true, Duration.ofMinutes(2))) {
      byte[] key =
          config.gatewayKeyFile() != null
              ? GatewayKey.loadOrCreate(config.gatewayKeyFile())
              : GatewayKey.loadOrCreate(client, config.namespace());
      HttpsGateway gateway =
          HttpsGateway.start(
              new HttpsGateway.Setup(
                  config.domain(),
                  config.bindAddress(),
                  config.httpsPort(),
                  config.httpBindAddress(),
                  config.httpPort(),
                  config.limits(),
                  config.threads(),
                  config.sshGateway()),
              directory,
              new SignedTokens(key, clock),
              certificates.store(),
              certificates.challenges(),
              registry,
              clock);
      ready.set(true);
      LOG.info(
          "serving https://*.{} on {} with {} TLS over {} (plain HTTP on {}, metrics on {})",
          config.domain().full(),
          gateway.httpsAddress(),
          dev.vmctl.https.tls.SniContexts.provider(),
          HttpsGateway.transport(),
          gateway.httpAddress(),
          metrics.address());
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    ready.set(false);
                    gateway.close();
                    stop.countDown();
                  }));
      stop.await();
    } finally {
      client.close();
    }
  }

  /**
   * {@code files}: PEM files (e.g. a mounted kubernetes.io/tls Secret); {@code local-ca} and {@code
   * acme}: {@link CertificateSources}, which read their own settings from the environment
   * (docs/https-certificates.md). Certificates are for the domain's host part, never its port.
   */
  static CertificateSources certificates(
      GatewayConfig config,
      Map<String, String> environment,
      KubernetesClient client,
      MeterRegistry registry)
      throws Exception {
    if (!List.of("files", "local-ca", "acme").contains(config.tlsMode())) {
      throw new IllegalArgumentException(
          "VMCTL_TLS_MODE must be files, local-ca or acme, not '" + config.tlsMode() + "'");
    }
    if ("files".equals(config.tlsMode())) {
      return new CertificateSources(
          new PemCertificateStore(config.tlsDirs(), Clock.systemUTC(), Duration.ofSeconds(10)),
          Http01Challenges.NONE,
          () -> {});
    }
    Map<String, String> env = new HashMap<>(environment);
    env.put("VMCTL_DOMAIN", config.domain().host());
    return CertificateSources.fromEnv(env, client, registry);
  }
}
