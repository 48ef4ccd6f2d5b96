package dev.vmctl.https.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a PKCS#8 private key and a certificate chain (leaf first) from PEM text. */
public final class PemFiles {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private PemFiles() {}

  public static CertifiedKey read(Path certificateFile, Path keyFile)
      throws IOException, GeneralSecurityException {
    List<X509Certificate> chain = certificates(Files.readString(certificateFile));
    PrivateKey key = privateKey(Files.readString(keyFile));
    if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new GeneralSecurityException(
          keyFile + " does not hold the key of the first certificate in " + certificateFile);
    }
    return new CertifiedKey(key, chain, DnsNames.of(chain.get(0)));
  }

  static List<X509Certificate> certificates(String pem) throws CertificateException {
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    List<X509Certificate> chain = new ArrayList<>();
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals("CERTIFICATE")) {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
      }
    }
    if (chain.isEmpty()) {
      throw new CertificateException("no CERTIFICATE block in the certificate file");
    }
    return chain;
  }

  static PrivateKey privateKey(String pem) throws GeneralSecurityException {
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals("PRIVATE KEY")) {
        PKCS8EncodedKeySpec spec =
            new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(2)));
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
          try {
            return KeyFactory.getInstance(algorithm).generatePrivate(spec);
          } catch (GeneralSecurityException e) {
            // try the next algorithm
          }
        }
        throw new GeneralSecurityException("unsupported private key algorithm");
      }
      if (m.group(1).endsWith("PRIVATE KEY")) {
        throw new GeneralSecurityException(
            "the key is '"
                + m.group(1)
                + "'; convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
      }
    }
    throw new GeneralSecurityException("no PRIVATE KEY block in the key file");
  }
}
