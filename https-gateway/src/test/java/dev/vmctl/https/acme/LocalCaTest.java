package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.https.tls.CertifiedKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local CA: its wildcard leaf validates against ca.crt, and both survive a restart. */
class LocalCaTest {
  @TempDir Path dir;

  @Test
  void wildcardLeafValidatesAgainstTheCaFileAndPersists() throws Exception {
    LocalCa first = LocalCa.open(dir, "vm.localhost");
    CertifiedKey leaf = first.forServerName("web-ada.vm.localhost").orElseThrow();
    assertThat(first.forServerName("vm.localhost")).contains(leaf);
    assertThat(first.forServerName("a.b.vm.localhost")).isEmpty(); // a wildcard spans one label
    assertThat(first.forServerName("example.com")).isEmpty();
    assertThat(leaf.chain().get(0).getSubjectAlternativeNames())
        .extracting(san -> (Object) san.get(1))
        .containsExactlyInAnyOrder("*.vm.localhost", "vm.localhost");

    X509Certificate caFromFile =
        Pem.parseCertificates(Files.readString(dir.resolve("ca.crt"))).get(0);
    validate(leaf.chain().get(0), caFromFile);
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("ca.key"))))
        .isEqualTo("rw-------");

    LocalCa second = LocalCa.open(dir, "vm.localhost");
    assertThat(second.caCertificate()).isEqualTo(first.caCertificate());
    assertThat(second.forServerName("x.vm.localhost").orElseThrow().chain().get(0))
        .isEqualTo(leaf.chain().get(0));
  }

  @Test
  void leafIsReissuedWhenDueButTheCaStays() throws Exception {
    LocalCa now = LocalCa.open(dir, "vm.localhost");
    X509Certificate before = now.forServerName("vm.localhost").orElseThrow().chain().get(0);
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(70)), ZoneOffset.UTC);
    LocalCa restarted = LocalCa.open(dir, "vm.localhost", later, RenewalPolicy.DEFAULT);
    X509Certificate after = restarted.forServerName("vm.localhost").orElseThrow().chain().get(0);
    assertThat(after.getSerialNumber()).isNotEqualTo(before.getSerialNumber());
    assertThat(restarted.caCertificate()).isEqualTo(now.caCertificate());
    assertThat(after.getNotAfter()).isAfter(before.getNotAfter());
  }

  @Test
  void aLeafWhoseKeyDoesNotMatchIsReissued() throws Exception {
    X509Certificate first =
        LocalCa.open(dir, "vm.localhost").forServerName("vm.localhost").get().chain().get(0);
    // As after a crash between writing tls.key and tls.crt.
    Files.writeString(dir.resolve("tls.key"), Pem.privateKey(Keys.newEcKeyPair().getPrivate()));
    CertifiedKey reopened = LocalCa.open(dir, "vm.localhost").forServerName("vm.localhost").get();
    assertThat(reopened.chain().get(0).getSerialNumber()).isNotEqualTo(first.getSerialNumber());
    assertThat(LocalCa.matches(reopened.key(), reopened.chain().get(0))).isTrue();
  }

  @Test
  void caIsNameConstrainedToItsDomain() throws Exception {
    LocalCa ca = LocalCa.open(dir, "vm.localhost");
    // A leaf for another site signed by the same key must fail validation: trusting ca.crt is safe.
    LocalCa rogue = LocalCa.open(dir, "vm.localhost");
    X509Certificate good = rogue.forServerName("vm.localhost").orElseThrow().chain().get(0);
    validate(good, ca.caCertificate());
    Path other = Files.createDirectories(dir.resolve("other"));
    Files.copy(dir.resolve("ca.crt"), other.resolve("ca.crt"));
    Files.copy(dir.resolve("ca.key"), other.resolve("ca.key"));
    LocalCa sameKeyOtherDomain = LocalCa.open(other, "example.com");
    X509Certificate outside =
        sameKeyOtherDomain.forServerName("example.com").orElseThrow().chain().get(0);
    // The JDK ignores a trust anchor's own constraints (RFC 5280 leaves it optional); OpenSSL,
    // like browsers, enforces them.
    assertThat(opensslVerify(dir.resolve("ca.crt"), good)).isTrue();
    assertThat(opensslVerify(dir.resolve("ca.crt"), outside)).isFalse();
  }

  @Test
  void storeMatchesExactBeforeWildcardAndSwapsWhole() throws Exception {
    CertifiedKey wild = LocalCa.open(dir, "vm.localhost").forServerName("vm.localhost").get();
    CertifiedKey exact = new CertifiedKey(wild.key(), wild.chain(), List.of("login.vm.localhost"));
    var store = new dev.vmctl.https.tls.SwappableCertificates();
    store.put("wildcard", wild);
    store.put("login", exact);
    assertThat(store.forServerName("LOGIN.vm.localhost")).contains(exact);
    assertThat(store.forServerName("web.vm.localhost")).contains(wild);
    assertThat(store.forServerName("a.web.vm.localhost")).isEmpty();
    CertifiedKey renewed = new CertifiedKey(wild.key(), wild.chain(), wild.names());
    store.put("wildcard", renewed);
    assertThat(store.forServerName("web.vm.localhost").get()).isSameAs(renewed);
    assertThat(store.forServerName("login.vm.localhost")).contains(exact);
  }

  @Test
  void rejectsBadInput() {
    assertThatThrownBy(() -> Pem.parseCertificates("not pem"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Pem.parsePrivateKey("-----BEGIN NOTHING-----\n-----END NOTHING-----"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private boolean opensslVerify(Path caFile, X509Certificate leaf) throws Exception {
    Path leafFile = Files.createTempFile(dir, "leaf", ".pem");
    Files.writeString(leafFile, Pem.certificates(List.of(leaf)));
    Process p =
        new ProcessBuilder("openssl", "verify", "-CAfile", caFile.toString(), leafFile.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    return p.waitFor() == 0 && out.contains(": OK");
  }

  static void validate(X509Certificate leaf, X509Certificate ca) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
  }
}
