package dev.vmctl.https.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * A private key with its certificate chain (leaf first), as presented in a TLS handshake.
 *
 * @param names the DNS names the leaf covers (e.g. {@code *.vm.example.com})
 */
public record CertifiedKey(PrivateKey key, List<X509Certificate> chain, List<String> names) {
  public Instant notAfter() {
    return chain.get(0).getNotAfter().toInstant();
  }
}
