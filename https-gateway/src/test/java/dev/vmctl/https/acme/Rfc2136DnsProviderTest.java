package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.https.tls.CertifiedKey;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.Session;

/**
 * RFC 2136 + TSIG against a real BIND: records appear and go, values coexist, a wrong key is a
 * clear error, and Pebble issues a wildcard validated against that BIND.
 */
class Rfc2136DnsProviderTest {
  @TempDir Path work;
  private BindServer bind;
  private final String zone =
      "z" + new BigInteger(32, new SecureRandom()).toString(36) + ".example.test";

  @BeforeEach
  void start() throws Exception {
    bind = new BindServer(work, zone);
  }

  @AfterEach
  void stop() throws Exception {
    if (bind != null) {
      bind.close();
    }
  }

  private Rfc2136DnsProvider provider(String secret) {
    return new Rfc2136DnsProvider(
        new InetSocketAddress("127.0.0.1", bind.port),
        zone,
        BindServer.KEY_NAME,
        "hmac-sha256",
        secret,
        Duration.ofSeconds(5));
  }

  @Test
  void addsAndRemovesExactlyTheGivenValue() throws Exception {
    Rfc2136DnsProvider dns = provider(bind.secret);
    String fqdn = "_acme-challenge." + zone + ".";
    dns.present(fqdn, "wildcard-value");
    dns.present(fqdn, "base-value");
    assertThat(DnsPropagation.visible(bind.address(), fqdn, "wildcard-value")).isTrue();
    assertThat(DnsPropagation.visible(bind.address(), fqdn, "base-value")).isTrue();
    dns.cleanUp(fqdn, "wildcard-value");
    assertThat(DnsPropagation.visible(bind.address(), fqdn, "wildcard-value")).isFalse();
    assertThat(DnsPropagation.visible(bind.address(), fqdn, "base-value")).isTrue();
  }

  @Test
  void wrongKeyOutsideZoneAndPolicyAreClearErrors() {
    byte[] other = new byte[32];
    new SecureRandom().nextBytes(other);
    assertThatThrownBy(
            () ->
                provider(Base64.getEncoder().encodeToString(other))
                    .present("_acme-challenge." + zone + ".", "v"))
        .isInstanceOf(DnsProviderException.class)
        .hasMessageContaining("refused by")
        .hasMessageContaining("NOTAUTH");
    assertThatThrownBy(() -> provider(bind.secret).present("_acme-challenge.example.org.", "v"))
        .hasMessageContaining("outside the zone");
    // BIND's update-policy only lets the key touch _acme-challenge TXT records.
    assertThatThrownBy(() -> provider(bind.secret).present("www." + zone + ".", "v"))
        .hasMessageContaining("REFUSED");
    assertThatThrownBy(() -> provider("%%%not base64"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not base64");
  }

  @Test
  void pebbleIssuesAWildcardValidatedAgainstBind() throws Exception {
    try (PebbleServer pebble = new PebbleServer(work, PebbleServer.freePort(), bind.address())) {
      AcmeIssuer issuer =
          new AcmeIssuer(
              new Session(pebble.directory()),
              Keys.newEcKeyPair(),
              Optional.empty(),
              new PendingHttp01(),
              provider(bind.secret),
              new DnsPropagation(List.of(bind.address()), Duration.ZERO, Duration.ofSeconds(10)),
              Duration.ofSeconds(30));
      CertifiedKey key = issuer.issue(CertificateRequest.wildcard(zone));
      assertThat(key.chain().get(0).getSubjectAlternativeNames())
          .extracting(san -> (Object) san.get(1))
          .containsExactlyInAnyOrder("*." + zone, zone);
      // Cleaned up afterwards.
      assertThat(DnsPropagation.visible(bind.address(), "_acme-challenge." + zone + ".", ""))
          .isFalse();
    }
  }
}
