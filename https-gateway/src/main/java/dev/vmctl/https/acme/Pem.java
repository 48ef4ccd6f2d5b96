package dev.vmctl.https.acme;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** PEM text for certificates and private keys, as kept in {@code kubernetes.io/tls} Secrets. */
public final class Pem {
  private Pem() {}

  public static String certificates(List<X509Certificate> chain) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
      for (X509Certificate cert : chain) {
        pem.writeObject(cert);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** PKCS#8 ({@code PRIVATE KEY}): readable by Netty, OpenSSL and Go alike. */
  public static String privateKey(PrivateKey key) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(new JcaPKCS8Generator(key, null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The private key (PKCS#8) followed by the public key: JDK EC keys do not embed it. */
  public static String keyPair(KeyPair pair) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(new JcaPKCS8Generator(pair.getPrivate(), null));
      pem.writeObject(pair.getPublic());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  public static KeyPair parseKeyPair(String pem) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      PrivateKey privateKey = null;
      java.security.PublicKey publicKey = null;
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof PEMKeyPair pair && pair.getPublicKeyInfo() != null) {
          return converter.getKeyPair(pair);
        } else if (o instanceof PrivateKeyInfo info) {
          privateKey = converter.getPrivateKey(info);
        } else if (o instanceof SubjectPublicKeyInfo info) {
          publicKey = converter.getPublicKey(info);
        }
      }
      if (privateKey == null || publicKey == null) {
        throw new IllegalArgumentException("PEM text lacks the private or the public key");
      }
      return new KeyPair(publicKey, privateKey);
    } catch (IOException e) {
      throw new IllegalArgumentException("unreadable key pair PEM: " + e.getMessage(), e);
    }
  }

  public static List<X509Certificate> parseCertificates(String pem) {
    try {
      List<X509Certificate> chain =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(
                  new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))
              .stream()
              .map(X509Certificate.class::cast)
              .toList();
      if (chain.isEmpty()) {
        throw new IllegalArgumentException("no certificate in PEM text");
      }
      return chain;
    } catch (CertificateException e) {
      throw new IllegalArgumentException("unreadable certificate PEM: " + e.getMessage(), e);
    }
  }

  /** Reads a PKCS#8 or traditional (EC/RSA PRIVATE KEY) PEM key. */
  public static PrivateKey parsePrivateKey(String pem) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (object instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (object instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      throw new IllegalArgumentException("no private key in PEM text");
    } catch (IOException e) {
      throw new IllegalArgumentException("unreadable private key PEM: " + e.getMessage(), e);
    }
  }
}
