package dev.vmctl.https;

import dev.vmctl.https.server.Limits;
import io.netty.util.NetUtil;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** The gateway's settings, read from environment variables (see docs/https-gateway.md). */
public record GatewayConfig(
    Domain domain,
    String bindAddress,
    int httpsPort,
    String httpBindAddress,
    int httpPort,
    String metricsBindAddress,
    int metricsPort,
    String namespace,
    Path gatewayKeyFile,
    String tlsMode,
    List<Path> tlsDirs,
    Limits limits,
    int threads,
    String sshGateway) {

  public static GatewayConfig fromEnv(Map<String, String> env) {
    Limits limits =
        new Limits(
            Duration.ofSeconds(number(env, "VMCTL_IDLE_TIMEOUT_SECONDS", 75)),
            Duration.ofSeconds(number(env, "VMCTL_BACKEND_TIMEOUT_SECONDS", 60)),
            Duration.ofMillis(number(env, "VMCTL_CONNECT_TIMEOUT_MS", 5000)),
            number(env, "VMCTL_MAX_HEADER_BYTES", 16384),
            8192,
            Duration.ofSeconds(number(env, "VMCTL_HEADER_TIMEOUT_SECONDS", 10)),
            number(env, "VMCTL_MAX_CONNECTIONS_PER_ADDRESS", 256));
    String keyFile = env.get("VMCTL_GATEWAY_KEY_FILE");
    String bind = address(env, "VMCTL_BIND_ADDRESS", "0.0.0.0");
    return new GatewayConfig(
        Domain.parse(env.getOrDefault("VMCTL_DOMAIN", "vm.localhost:8443")),
        bind,
        number(env, "VMCTL_HTTPS_PORT", 8443),
        address(env, "VMCTL_HTTP_BIND_ADDRESS", bind),
        number(env, "VMCTL_HTTP_PORT", 8080),
        address(env, "VMCTL_METRICS_BIND_ADDRESS", bind),
        number(env, "VMCTL_METRICS_PORT", 9090),
        env.getOrDefault("VMCTL_NAMESPACE", "vmctl-system"),
        keyFile == null || keyFile.isBlank() ? null : Path.of(keyFile),
        env.getOrDefault("VMCTL_TLS_MODE", "files"),
        Arrays.stream(env.getOrDefault("VMCTL_TLS_DIRS", "/etc/vmctl/tls").split(","))
            .map(String::trim)
            .filter(s -> !s.isEmpty())
            .map(Path::of)
            .toList(),
        limits,
        number(env, "VMCTL_THREADS", Math.max(2, Runtime.getRuntime().availableProcessors())),
        env.getOrDefault("VMCTL_SSH_GATEWAY", "localhost:2222"));
  }

  /** An IP address literal (never a name to resolve at startup), or the fallback when unset. */
  private static String address(Map<String, String> env, String name, String fallback) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    String trimmed = value.trim();
    String bare =
        trimmed.startsWith("[") && trimmed.endsWith("]")
            ? trimmed.substring(1, trimmed.length() - 1)
            : trimmed;
    if (!NetUtil.isValidIpV4Address(bare) && !NetUtil.isValidIpV6Address(bare)) {
      throw new IllegalArgumentException(name + " must be an IP address, not '" + value + "'");
    }
    return bare;
  }

  private static int number(Map<String, String> env, String name, int fallback) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value.trim());
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          name + " must be a non-negative integer, not '" + value + "'");
    }
  }
}
