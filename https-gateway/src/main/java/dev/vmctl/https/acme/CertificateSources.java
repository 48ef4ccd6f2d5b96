package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.Http01Challenges;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shredzone.acme4j.Session;

/**
 * What the serving side wires by {@code VMCTL_TLS_MODE}: a {@link CertificateStore} for the TLS
 * listener, {@link Http01Challenges} for the plain-HTTP listener, and something to close. Every
 * setting comes from the environment map (see docs/https-certificates.md for the list).
 */
public record CertificateSources(
    CertificateStore store, Http01Challenges challenges, AutoCloseable closer) {

  /**
   * {@code local-ca} (default): {@link LocalCa} in {@code VMCTL_LOCAL_CA_DIR}. {@code acme}: {@link
   * AcmeCertificates}, started (stored certificates loaded, issuance in the background). {@code
   * client} is only used in acme mode and may be null otherwise.
   */
  public static CertificateSources fromEnv(
      Map<String, String> env, KubernetesClient client, MeterRegistry registry) throws IOException {
    String mode = env.getOrDefault("VMCTL_TLS_MODE", "local-ca");
    String domain = env.getOrDefault("VMCTL_DOMAIN", LocalCa.DEFAULT_DOMAIN);
    switch (mode) {
      case "local-ca" -> {
        Path dir =
            Path.of(
                env.getOrDefault(
                    "VMCTL_LOCAL_CA_DIR",
                    Path.of(System.getProperty("user.home"), ".config", "vmctl", "local-ca")
                        .toString()));
        LocalCa ca = LocalCa.open(dir, domain);
        return new CertificateSources(ca, Http01Challenges.NONE, () -> {});
      }
      case "acme" -> {
        AcmeCertificates acme = acme(env, client, registry, domain);
        acme.start();
        return new CertificateSources(acme, acme, acme);
      }
      default ->
          throw new IllegalArgumentException(
              "VMCTL_TLS_MODE must be local-ca or acme, got '" + mode + "'");
    }
  }

  static AcmeCertificates acme(
      Map<String, String> env, KubernetesClient client, MeterRegistry registry, String domain) {
    String namespace = env.getOrDefault("VMCTL_NAMESPACE", "vmctl-system");
    String spec = env.getOrDefault("VMCTL_ACME_CERTIFICATES", "");
    List<CertificateRequest> requests =
        spec.isBlank()
            ? List.of(CertificateRequest.wildcard(domain))
            : CertificateRequest.parseList(spec);
    PendingHttp01 http01 = new PendingHttp01();
    AcmeIssuer issuer =
        new AcmeIssuer(
            new Session(
                URI.create(
                    env.getOrDefault(
                        "VMCTL_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory"))),
            AccountKeySecret.loadOrCreate(client, namespace),
            Optional.ofNullable(env.get("VMCTL_ACME_EMAIL")).filter(s -> !s.isBlank()),
            http01,
            dnsProvider(env),
            new DnsPropagation(
                List.of(env.getOrDefault("VMCTL_ACME_DNS_RESOLVERS", "").split(",")).stream()
                    .filter(s -> !s.isBlank())
                    .toList(),
                duration(env, "VMCTL_ACME_DNS_PROPAGATION_DELAY", "60s"),
                duration(env, "VMCTL_ACME_DNS_PROPAGATION_TIMEOUT", "300s")),
            duration(env, "VMCTL_ACME_TIMEOUT", "120s"));
    return new AcmeCertificates(
        requests,
        new TlsSecrets(client, namespace),
        issuer,
        http01,
        new RenewalPolicy(
            Double.parseDouble(env.getOrDefault("VMCTL_ACME_RENEW_REMAINING_FRACTION", "0.3333"))),
        new Backoff(
            duration(env, "VMCTL_ACME_RETRY_FIRST", "60s"),
            duration(env, "VMCTL_ACME_RETRY_MAX", "6h")),
        duration(env, "VMCTL_ACME_CHECK_INTERVAL", "1h"),
        Clock.systemUTC(),
        registry);
  }

  static DnsProvider dnsProvider(Map<String, String> env) {
    String url = env.getOrDefault("VMCTL_ACME_DNS_WEBHOOK_URL", "");
    String rfc2136 = env.getOrDefault("VMCTL_ACME_DNS_RFC2136_SERVER", "");
    if (!url.isBlank() && !rfc2136.isBlank()) {
      throw new IllegalArgumentException(
          "set VMCTL_ACME_DNS_WEBHOOK_URL or VMCTL_ACME_DNS_RFC2136_SERVER, not both");
    }
    if (!rfc2136.isBlank()) {
      return rfc2136(env, rfc2136);
    }
    if (url.isBlank()) {
      return DnsProvider.NONE;
    }
    return new WebhookDnsProvider(
        URI.create(url),
        Optional.ofNullable(env.get("VMCTL_ACME_DNS_WEBHOOK_TOKEN")),
        duration(env, "VMCTL_ACME_DNS_WEBHOOK_TIMEOUT", "30s"));
  }

  private static DnsProvider rfc2136(Map<String, String> env, String server) {
    int colon = server.lastIndexOf(':');
    String host = colon > 0 ? server.substring(0, colon) : server;
    int port;
    try {
      port = colon > 0 ? Integer.parseInt(server.substring(colon + 1)) : 53;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "VMCTL_ACME_DNS_RFC2136_SERVER='" + server + "' is not host or host:port");
    }
    return new Rfc2136DnsProvider(
        new java.net.InetSocketAddress(host, port),
        required(env, "VMCTL_ACME_DNS_RFC2136_ZONE"),
        required(env, "VMCTL_ACME_DNS_RFC2136_TSIG_KEY"),
        env.getOrDefault("VMCTL_ACME_DNS_RFC2136_TSIG_ALGORITHM", "hmac-sha256"),
        required(env, "VMCTL_ACME_DNS_RFC2136_TSIG_SECRET"),
        duration(env, "VMCTL_ACME_DNS_RFC2136_TIMEOUT", "10s"));
  }

  private static String required(Map<String, String> env, String key) {
    String value = env.getOrDefault(key, "");
    if (value.isBlank()) {
      throw new IllegalArgumentException(key + " is required with VMCTL_ACME_DNS_RFC2136_SERVER");
    }
    return value;
  }

  /** {@code 90s}, {@code 15m}, {@code 6h}, {@code 2d}, or an ISO-8601 {@code PT1H}. */
  static Duration duration(Map<String, String> env, String key, String fallback) {
    String text = env.getOrDefault(key, fallback).trim();
    try {
      if (text.startsWith("P") || text.startsWith("p")) {
        return Duration.parse(text);
      }
      long n = Long.parseLong(text.substring(0, text.length() - 1));
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(n);
        case 'm' -> Duration.ofMinutes(n);
        case 'h' -> Duration.ofHours(n);
        case 'd' -> Duration.ofDays(n);
        default -> throw new IllegalArgumentException();
      };
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          key + "='" + text + "' is not a duration like 90s, 15m, 6h, 2d or PT1H");
    }
  }
}
