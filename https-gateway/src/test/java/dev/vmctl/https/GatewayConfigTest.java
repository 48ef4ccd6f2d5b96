package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
                    GatewayConfig.fromEnv(Map.of("VMCTL_TLS_MODE", "acme"))))
        .hasMessageContaining("not available");
    assertThatThrownBy(
            () ->
                HttpsGatewayMain.certificates(
                    GatewayConfig.fromEnv(Map.of("VMCTL_TLS_MODE", "magic"))))
        .hasMessageContaining("files, local-ca or acme");
  }
}
