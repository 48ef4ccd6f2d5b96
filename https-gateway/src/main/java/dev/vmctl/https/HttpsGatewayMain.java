package dev.vmctl.https;

import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.GatewayKey;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.https.server.HttpsGateway;
import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.https.tls.PemCertificateStore;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
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
    CertificateStore certificates = certificates(config);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    AtomicBoolean ready = new AtomicBoolean();
    Clock clock = Clock.systemUTC();
    KubernetesClient client = new KubernetesClientBuilder().build();
    try (MetricsServer metrics = new MetricsServer(config.metricsPort(), registry, ready::get);
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
                  config.httpPort(),
                  config.limits(),
                  config.threads()),
              directory,
              new SignedTokens(key, clock),
              certificates,
              Http01Challenges.NONE,
              registry,
              clock);
      ready.set(true);
      LOG.info(
          "serving https://*.{} on :{} with {} TLS over {} (plain HTTP on :{}, metrics on :{})",
          config.domain().full(),
          gateway.httpsPort(),
          dev.vmctl.https.tls.SniContexts.provider(),
          HttpsGateway.transport(),
          gateway.httpPort(),
          metrics.port());
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

  /** Only {@code files} is wired here; the local CA and ACME come with the certificate work. */
  static CertificateStore certificates(GatewayConfig config) throws Exception {
    return switch (config.tlsMode()) {
      case "files" ->
          new PemCertificateStore(config.tlsDirs(), Clock.systemUTC(), Duration.ofSeconds(10));
      case "local-ca", "acme" ->
          throw new IllegalArgumentException(
              "VMCTL_TLS_MODE=" + config.tlsMode() + " is not available in this build; use files");
      default ->
          throw new IllegalArgumentException(
              "VMCTL_TLS_MODE must be files, local-ca or acme, not '" + config.tlsMode() + "'");
    };
  }
}
