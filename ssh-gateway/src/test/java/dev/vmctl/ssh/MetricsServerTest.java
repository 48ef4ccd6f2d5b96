package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** /metrics and /healthz over real HTTP on loopback. */
class MetricsServerTest {
  @Test
  void servesPrometheusTextAndHealth() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    GatewayMetrics metrics = new GatewayMetrics(registry);
    metrics.connected();
    metrics.authFailure("disabled");
    metrics.command("ls", 0);
    metrics.proxied("user", "to-vm", 1234);
    try (MetricsServer server = new MetricsServer("0.0.0.0", 0, registry)) {
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + server.port();
      HttpResponse<String> scrape =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.body())
          .contains("vmctl_ssh_connections_total 1.0")
          .contains("vmctl_ssh_sessions_open 1.0")
          .contains("vmctl_ssh_auth_failures_total{reason=\"disabled\"} 1.0")
          .contains("vmctl_ssh_commands_total{command=\"ls\",ok=\"true\"} 1.0")
          .contains("vmctl_ssh_proxy_bytes_total{direction=\"to-vm\",mode=\"user\"} 1234.0");
      HttpResponse<String> health =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(health.body()).isEqualTo("ok\n");
    }
  }

  @Test
  void bindsOnlyTheConfiguredAddress() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Every 127.x address is this host's loopback; a listener on 127.0.0.2 must not answer on
    // 127.0.0.1 (as one on a host's bridge address must not answer its guests elsewhere).
    try (MetricsServer server = new MetricsServer("127.0.0.2", 0, registry)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> bound =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.2:" + server.port() + "/healthz"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(bound.body()).isEqualTo("ok\n");
      assertThatThrownBy(
              () ->
                  http.send(
                      HttpRequest.newBuilder(
                              URI.create("http://127.0.0.1:" + server.port() + "/healthz"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(java.net.ConnectException.class);
    }
  }

  @Test
  void bindAddressesComeFromTheEnvironment() {
    SshGatewayConfig defaults = SshGatewayConfig.fromEnvironment(java.util.Map.of());
    assertThat(defaults.bindAddress()).isEqualTo("0.0.0.0");
    assertThat(defaults.httpBindAddress()).isEqualTo("0.0.0.0");
    SshGatewayConfig one =
        SshGatewayConfig.fromEnvironment(java.util.Map.of("VMCTL_BIND_ADDRESS", "192.0.2.7"));
    assertThat(one.bindAddress()).isEqualTo("192.0.2.7");
    assertThat(one.httpBindAddress()).isEqualTo("192.0.2.7");
    SshGatewayConfig both =
        SshGatewayConfig.fromEnvironment(
            java.util.Map.of(
                "VMCTL_BIND_ADDRESS", "192.0.2.7", "VMCTL_HTTP_BIND_ADDRESS", "127.0.0.1"));
    assertThat(both.httpBindAddress()).isEqualTo("127.0.0.1");
    assertThat(both.withPorts(0, 0).httpBindAddress()).isEqualTo("127.0.0.1");
  }
}
