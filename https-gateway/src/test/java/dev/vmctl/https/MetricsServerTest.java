package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
  @Test
  void listensOnlyOnTheConfiguredAddress() throws Exception {
    var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (MetricsServer server = new MetricsServer("127.0.0.2", 0, registry, () -> true)) {
      assertThat(server.address().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
      try (Socket ok = new Socket()) {
        ok.connect(new InetSocketAddress("127.0.0.2", server.port()), 5000);
        assertThat(ok.isConnected()).isTrue();
      }
      assertThatThrownBy(
              () -> {
                try (Socket other = new Socket()) {
                  other.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                }
              })
          .as("another address of the host")
          .isInstanceOf(ConnectException.class);
    }
  }
}
