package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.https.tls.CertifiedKey;
import dev.vmctl.https.tls.PemCertificateStore;
import dev.vmctl.https.tls.SniContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEM files made by the openssl CLI: matching, per-name certificates, reload on change. */
class PemCertificateStoreTest {
  @TempDir Path tmp;

  @Test
  void mostSpecificCertificateWinsAndUnknownNamesGetNone() throws Exception {
    TestCerts certs = TestCerts.create(tmp);
    Path wildcard = certs.leaf("wildcard", 2, "*.vm.localhost", "vm.localhost");
    Path special = certs.leaf("special", 2, "special.vm.localhost");
    PemCertificateStore store =
        new PemCertificateStore(
            List.of(wildcard, special), Clock.systemUTC(), Duration.ofSeconds(1));
    assertThat(store.forServerName("web.vm.localhost").orElseThrow().names())
        .contains("*.vm.localhost");
    assertThat(store.forServerName("special.vm.localhost").orElseThrow().names())
        .containsExactly("special.vm.localhost");
    assertThat(store.forServerName("vm.localhost")).isPresent();
    assertThat(store.forServerName("a.b.vm.localhost")).isEmpty();
    assertThat(store.forServerName("example.com")).isEmpty();
    CertifiedKey leaf = store.forServerName("web.vm.localhost").orElseThrow();
    assertThat(leaf.chain()).hasSize(2); // leaf first, then the CA

    SniContexts contexts = new SniContexts(store, "vm.localhost");
    assertThat(contexts.map("a.vm.localhost")).isSameAs(contexts.map("B.vm.localhost"));
    assertThat(contexts.map("special.vm.localhost")).isNotSameAs(contexts.map("a.vm.localhost"));
    assertThat(contexts.map(null)).isSameAs(contexts.map("a.vm.localhost"));
    // Unknown names and IP addresses get the default certificate (the Host check answers 404).
    assertThat(contexts.map("127.0.0.1")).isSameAs(contexts.map("a.vm.localhost"));
  }

  @Test
  void reloadsChangedFilesAndKeepsTheOldCertificateWhenTheNewOneIsBroken() throws Exception {
    TestCerts certs = TestCerts.create(tmp);
    Path live = certs.leaf("live", 2, "*.vm.localhost");
    Path renewed = certs.leaf("renewed", 30, "*.vm.localhost");
    PemCertificateStore store =
        new PemCertificateStore(List.of(live), Clock.systemUTC(), Duration.ZERO);
    Instant before = store.forServerName("a.vm.localhost").orElseThrow().notAfter();

    Files.copy(
        renewed.resolve("tls.key"), live.resolve("tls.key"), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(
        renewed.resolve("tls.crt"), live.resolve("tls.crt"), StandardCopyOption.REPLACE_EXISTING);
    Instant after = store.forServerName("a.vm.localhost").orElseThrow().notAfter();
    assertThat(after).isAfter(before.plus(Duration.ofDays(20)));

    Files.writeString(live.resolve("tls.crt"), "not a certificate\n");
    assertThat(store.forServerName("a.vm.localhost").orElseThrow().notAfter()).isEqualTo(after);
  }

  @Test
  void aKeyThatDoesNotMatchOrIsMissingIsAClearError() throws Exception {
    TestCerts certs = TestCerts.create(tmp);
    Path dir = certs.leaf("leaf", 2, "*.vm.localhost");
    Files.writeString(
        dir.resolve("tls.key"),
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    assertThatThrownBy(
            () -> new PemCertificateStore(List.of(dir), Clock.systemUTC(), Duration.ZERO))
        .hasMessageContaining("PKCS#8");
    assertThatThrownBy(
            () ->
                new PemCertificateStore(
                    List.of(tmp.resolve("nope")), Clock.systemUTC(), Duration.ZERO))
        .hasMessageContaining("tls.crt");
  }
}
