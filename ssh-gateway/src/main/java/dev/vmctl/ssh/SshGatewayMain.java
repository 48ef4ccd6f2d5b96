package dev.vmctl.ssh;

import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.GatewayKey;
import dev.vmctl.gateway.SignedTokens;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the SSH gateway from environment variables (see {@link SshGatewayConfig}). */
public final class SshGatewayMain {
  private static final Logger LOG = LoggerFactory.getLogger(SshGatewayMain.class);
  static final String HOST_KEY_SECRET = "vmctl-ssh-host-key";
  static final String PROXY_KEY_SECRET = "vmctl-ssh-gateway-proxy-key";

  private SshGatewayMain() {}

  public static void main(String[] args) throws Exception {
    SshGatewayConfig config = SshGatewayConfig.fromEnvironment(System.getenv());
    KubernetesClient client = new KubernetesClientBuilder().build();
    KeyPair hostKey =
        config.hostKeyFile() != null
            ? PersistedKeyPair.loadOrCreate(config.hostKeyFile())
            : PersistedKeyPair.loadOrCreate(client, config.namespace(), HOST_KEY_SECRET);
    KeyPair proxyKey =
        config.proxyKeyFile() != null
            ? PersistedKeyPair.loadOrCreate(config.proxyKeyFile())
            : PersistedKeyPair.loadOrCreate(client, config.namespace(), PROXY_KEY_SECRET);
    ProxyKeyPublisher.publish(client, config.namespace(), proxyKey);
    byte[] gatewayKey =
        config.gatewayKeyFile() != null
            ? GatewayKey.loadOrCreate(config.gatewayKeyFile())
            : GatewayKey.loadOrCreate(client, config.namespace());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Directory directory = Directory.start(client, false, Duration.ofMinutes(2));
    GatewayContext context =
        new GatewayContext(
            config,
            directory,
            client,
            PersonClients.impersonating(client.getConfiguration()),
            new SignedTokens(gatewayKey, Clock.systemUTC()),
            new GatewayMetrics(registry),
            Clock.systemUTC());
    MetricsServer metrics =
        config.httpPort() >= 0
            ? new MetricsServer(config.httpBindAddress(), config.httpPort(), registry)
            : null;
    SshGateway gateway = SshGateway.start(context, hostKey, proxyKey);
    LOG.info(
        "ssh gateway listening address={} port={} namespace={}",
        config.bindAddress(),
        gateway.port(),
        config.namespace());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    gateway.close();
                  } catch (Exception e) {
                    LOG.warn("shutdown: {}", e.toString());
                  }
                  if (metrics != null) {
                    metrics.close();
                  }
                  context.people().close();
                  directory.close();
                  client.close();
                  stopped.countDown();
                }));
    stopped.await();
  }
}
