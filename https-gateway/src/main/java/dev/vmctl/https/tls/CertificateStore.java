package dev.vmctl.https.tls;

import java.util.Optional;

/**
 * Where the serving side gets certificates: asked once per TLS handshake with the client's SNI
 * name. Implementations (files, a local CA, ACME) match wildcards themselves and may swap a renewed
 * certificate in at any time; handshakes after the swap get the new one, connections already open
 * keep theirs.
 */
public interface CertificateStore {
  /** The certificate to present for {@code serverName} (lower case, no port), if any. */
  Optional<CertifiedKey> forServerName(String serverName);
}
