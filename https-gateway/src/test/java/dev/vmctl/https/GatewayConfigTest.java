package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {
  @Test
  void defaults() {
    GatewayConfig c = GatewayConfig.fromEnv(Map.of());
    assertThat(c.domain().full()).isEqualTo("vm.localhost:8443");
    assertThat(c.httpsPort()).isEqualTo(8443);
    assertThat(c.httpPort()).isEqualTo(8080);
    assertThat(c.metricsPort()).isEqualTo(9090);
    assertThat(c.namespace()).isEqualTo("vmctl-system");
    assertThat(c.gatewayKeyFile()).isNull();
    assertThat(c.tlsMode()).isEqualTo("files");
    assertThat(c.tlsDirs()).containsExactly(Path.of("/etc/vmctl/tls"));
    assertThat(c.limits().backendIdle()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.limits().header()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.limits().maxConnectionsPerAddress()).isEqualTo(256);
    assertThat(c.bindAddress()).isEqualTo("0.0.0.0");
    assertThat(c.httpBindAddress()).isEqualTo("0.0.0.0");
    assertThat(c.metricsBindAddress()).isEqualTo("0.0.0.0");
  }

  @Test
  void everyListenerHasItsOwnBindAddressDefaultingToTheCommonOne() {
    GatewayConfig common = GatewayConfig.fromEnv(Map.of("VMCTL_BIND_ADDRESS", "10.0.0.7"));
    assertThat(List.of(common.bindAddress(), common.httpBindAddress(), common.metricsBindAddress()))
        .containsOnly("10.0.0.7");
    GatewayConfig each =
        GatewayConfig.fromEnv(
            Map.of(
                "VMCTL_BIND_ADDRESS", "10.0.0.7",
                "VMCTL_HTTP_BIND_ADDRESS", "127.0.0.1",
                "VMCTL_METRICS_BIND_ADDRESS", "[::1]",
                "VMCTL_HEADER_TIMEOUT_SECONDS", "3",
                "VMCTL_MAX_CONNECTIONS_PER_ADDRESS", "0"));
    assertThat(each.bindAddress()).isEqualTo("10.0.0.7");
    assertThat(each.httpBindAddress()).isEqualTo("127.0.0.1");
    assertThat(each.metricsBindAddress()).isEqualTo("::1");
    assertThat(each.limits().header()).isEqualTo(Duration.ofSeconds(3));
    assertThat(each.limits().maxConnectionsPerAddress()).isZero();
    assertThatThrownBy(
            () -> GatewayConfig.fromEnv(Map.of("VMCTL_METRICS_BIND_ADDRESS", "metrics.local")))
        .hasMessageContaining("VMCTL_METRICS_BIND_ADDRESS must be an IP address");
  }

  @Test
  void overridesAndClearErrors() {
    GatewayConfig c =
        GatewayConfig.fromEnv(
            Map.of(
                "VMCTL_DOMAIN",
                "vm.example.com",
                "VMCTL_TLS_DIRS",
                "/a, /b",
                "VMCTL_HTTP_PORT",
                "0"));
    assertThat(c.domain().host()).isEqualTo("vm.example.com");
    assertThat(c.tlsDirs()).containsExactly(Path.of("/a"), Path.of("/b"));
    assertThat(c.httpPort()).isZero();
    assertThatThrownBy(() -> GatewayConfig.fromEnv(Map.of("VMCTL_HTTPS_PORT", "x")))
        .hasMessageContaining("VMCTL_HTTPS_PORT");
    assertThatThrownBy(
            () ->
                HttpsGatewayMain.certificates(
                    GatewayConfig.fromEnv(Map.of("VMCTL_TLS_MODE", "magic")), Map.of(), null, null))
        .hasMessageContaining("files, local-ca or acme");
  }

  @Test
  void localCaModeServesTheDomainsHostPartNotItsPort(@TempDir Path dir) throws Exception {
    Map<String, String> env =
        Map.of(
            "VMCTL_TLS_MODE", "local-ca",
            "VMCTL_DOMAIN", "vm.localhost:8443",
            "VMCTL_LOCAL_CA_DIR", dir.toString());
    var sources = HttpsGatewayMain.certificates(GatewayConfig.fromEnv(env), env, null, null);
    assertThat(sources.store().forServerName("web.vm.localhost")).isPresent();
    assertThat(sources.store().forServerName("web.other.example")).isEmpty();
    assertThat(dir.resolve("ca.crt")).exists();
  }
}
