package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.https.tls.Http01Challenges;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The factory the serving side calls: local-ca by default, clear errors for bad settings. */
class CertificateSourcesTest {
  @TempDir Path dir;

  @Test
  void localCaIsTheDefaultAndServesTheLocalDomain() throws Exception {
    CertificateSources sources =
        CertificateSources.fromEnv(
            Map.of("VMCTL_LOCAL_CA_DIR", dir.toString()), null, new SimpleMeterRegistry());
    assertThat(sources.store().forServerName("web.vm.localhost")).isPresent();
    assertThat(sources.challenges()).isSameAs(Http01Challenges.NONE);
    assertThat(Files.exists(dir.resolve("ca.crt"))).isTrue();
    sources.closer().close();
  }

  @Test
  void rejectsUnknownModesAndBadSettings() {
    assertThatThrownBy(
            () ->
                CertificateSources.fromEnv(
                    Map.of("VMCTL_TLS_MODE", "letsencrypt"), null, new SimpleMeterRegistry()))
        .hasMessageContaining("VMCTL_TLS_MODE must be local-ca or acme");
    assertThatThrownBy(
            () ->
                CertificateSources.dnsProvider(Map.of("VMCTL_ACME_DNS_WEBHOOK_URL", "dns.example")))
        .hasMessageContaining("must be http(s)");
    assertThat(CertificateSources.dnsProvider(Map.of())).isSameAs(DnsProvider.NONE);
    assertThatThrownBy(
            () ->
                CertificateSources.dnsProvider(
                    Map.of("VMCTL_ACME_DNS_RFC2136_SERVER", "ns1.example.com:53")))
        .hasMessageContaining("VMCTL_ACME_DNS_RFC2136_ZONE is required");
    assertThatThrownBy(
            () ->
                CertificateSources.dnsProvider(
                    Map.of(
                        "VMCTL_ACME_DNS_RFC2136_SERVER", "ns1.example.com:53",
                        "VMCTL_ACME_DNS_WEBHOOK_URL", "https://hook.example.com/")))
        .hasMessageContaining("not both");
    assertThat(
            CertificateSources.dnsProvider(
                Map.of(
                    "VMCTL_ACME_DNS_RFC2136_SERVER", "127.0.0.1:5353",
                    "VMCTL_ACME_DNS_RFC2136_ZONE", "example.com",
                    "VMCTL_ACME_DNS_RFC2136_TSIG_KEY", "acme",
                    "VMCTL_ACME_DNS_RFC2136_TSIG_SECRET", "c2VjcmV0c2VjcmV0c2VjcmV0")))
        .isInstanceOf(Rfc2136DnsProvider.class);
  }
}
