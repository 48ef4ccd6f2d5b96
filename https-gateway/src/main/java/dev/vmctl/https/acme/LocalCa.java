package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.CertifiedKey;
import dev.vmctl.https.tls.SwappableCertificates;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed CA for local runs ({@code VMCTL_TLS_MODE=local-ca}): it issues one leaf for {@code
 * *.<domain>} and {@code <domain>}. The CA is created once in {@code dir} and reused, so a user
 * trusts {@code ca.crt} once; it is name-constrained to {@code <domain>}, so trusting it cannot let
 * it vouch for any other site. The leaf is re-issued when it is due (same policy as ACME).
 *
 * <p>Files: {@code ca.crt}, {@code ca.key}, {@code tls.crt} (leaf then CA), {@code tls.key}; keys
 * are mode 0600.
 */
public final class LocalCa implements CertificateStore {
  public static final String DEFAULT_DOMAIN = "vm.localhost";
  private static final Duration CA_LIFETIME = Duration.ofDays(3650);
  private static final Duration LEAF_LIFETIME = Duration.ofDays(90);
  private static final Duration BACKDATE = Duration.ofMinutes(5);

  private final Path dir;
  private final String domain;
  private final Clock clock;
  private final RenewalPolicy policy;
  private final X509Certificate caCert;
  private final PrivateKey caKey;
  private final SwappableCertificates current = new SwappableCertificates();

  private LocalCa(
      Path dir,
      String domain,
      Clock clock,
      RenewalPolicy policy,
      X509Certificate caCert,
      PrivateKey caKey) {
    this.dir = dir;
    this.domain = domain;
    this.clock = clock;
    this.policy = policy;
    this.caCert = caCert;
    this.caKey = caKey;
  }

  /** Loads the CA and leaf from {@code dir}, creating what is missing or due. */
  public static LocalCa open(Path dir, String domain) throws IOException {
    return open(dir, domain, Clock.systemUTC(), RenewalPolicy.DEFAULT);
  }

  public static LocalCa open(Path dir, String domain, Clock clock, RenewalPolicy policy)
      throws IOException {
    Files.createDirectories(dir);
    Path crt = dir.resolve("ca.crt");
    Path key = dir.resolve("ca.key");
    if (!Files.exists(crt) || !Files.exists(key)) {
      KeyPair pair = Keys.newEcKeyPair();
      X509Certificate cert = selfSignedCa(pair, domain, clock.instant());
      writePrivate(key, Pem.privateKey(pair.getPrivate()));
      writeAtomically(crt, Pem.certificates(List.of(cert)));
    }
    LocalCa ca =
        new LocalCa(
            dir,
            domain,
            clock,
            policy,
            Pem.parseCertificates(Files.readString(crt)).get(0),
            Pem.parsePrivateKey(Files.readString(key)));
    ca.loadOrIssueLeaf();
    return ca;
  }

  public Path caCertificateFile() {
    return dir.resolve("ca.crt");
  }

  public X509Certificate caCertificate() {
    return caCert;
  }

  public List<String> names() {
    return List.of("*." + domain, domain);
  }

  /** Re-issues the leaf when due; cheap otherwise, so it is safe to call per handshake. */
  @Override
  public Optional<CertifiedKey> forServerName(String serverName) {
    CertifiedKey leaf = current.get(domain).orElseThrow();
    if (policy.due(leaf.chain().get(0), clock.instant())) {
      refresh();
    }
    return current.forServerName(serverName);
  }

  private synchronized void refresh() {
    CertifiedKey leaf = current.get(domain).orElseThrow();
    if (policy.due(leaf.chain().get(0), clock.instant())) {
      try {
        issueLeaf();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot write the local CA's new leaf", e);
      }
    }
  }

  private synchronized void loadOrIssueLeaf() throws IOException {
    Path crt = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    if (Files.exists(crt) && Files.exists(key)) {
      List<X509Certificate> chain = Pem.parseCertificates(Files.readString(crt));
      X509Certificate leaf = chain.get(0);
      PrivateKey leafKey = Pem.parsePrivateKey(Files.readString(key));
      // tls.key and tls.crt are written one after the other: a crash between leaves a pair
      // that does not match, which is re-issued rather than served.
      if (issuedByThisCa(leaf) && !policy.due(leaf, clock.instant()) && matches(leafKey, leaf)) {
        current.put(domain, new CertifiedKey(leafKey, chain, names()));
        return;
      }
    }
    issueLeaf();
  }

  private void issueLeaf() throws IOException {
    KeyPair pair = Keys.newEcKeyPair();
    X509Certificate leaf = leaf(pair, clock.instant());
    List<X509Certificate> chain = List.of(leaf, caCert);
    writePrivate(dir.resolve("tls.key"), Pem.privateKey(pair.getPrivate()));
    writeAtomically(dir.resolve("tls.crt"), Pem.certificates(chain));
    current.put(domain, new CertifiedKey(pair.getPrivate(), chain, names()));
  }

  static boolean matches(PrivateKey key, X509Certificate cert) {
    try {
      byte[] probe = new byte[32];
      new SecureRandom().nextBytes(probe);
      java.security.Signature signer = java.security.Signature.getInstance("SHA256withECDSA");
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      java.security.Signature verifier = java.security.Signature.getInstance("SHA256withECDSA");
      verifier.initVerify(cert.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private boolean issuedByThisCa(X509Certificate leaf) {
    try {
      leaf.verify(caCert.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static X509Certificate selfSignedCa(KeyPair pair, String domain, Instant now) {
    X500Name name = new X500Name("CN=vmctl local CA for " + domain + ",O=vmctl");
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
                  name,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(now.plus(CA_LIFETIME)),
                  name,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()))
              // Only names under the domain: trusting this CA cannot expose any other site.
              .addExtension(
                  Extension.nameConstraints,
                  true,
                  new NameConstraints(
                      new GeneralSubtree[] {
                        new GeneralSubtree(new GeneralName(GeneralName.dNSName, domain))
                      },
                      null));
      return sign(builder, pair.getPrivate());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build the local CA certificate", e);
    }
  }

  private X509Certificate leaf(KeyPair pair, Instant now) {
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
                  caCert,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(now.plus(LEAF_LIFETIME)),
                  new X500Name("CN=*." + domain),
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
              .addExtension(
                  Extension.subjectAlternativeName,
                  false,
                  new GeneralNames(
                      names().stream()
                          .map(n -> new GeneralName(GeneralName.dNSName, n))
                          .toArray(GeneralName[]::new)))
              .addExtension(
                  Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()));
      return sign(builder, caKey);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot issue the local leaf certificate", e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, new SecureRandom());
  }

  private static void writePrivate(Path file, String pem) throws IOException {
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".key", ".tmp");
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void writeAtomically(Path file, String pem) throws IOException {
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".crt", ".tmp");
    Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
