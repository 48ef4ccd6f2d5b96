package dev.vmctl.https.tls;

import java.util.Optional;

/**
 * Pending ACME HTTP-01 challenges. The plain-HTTP listener answers {@code GET
 * /.well-known/acme-challenge/<token>} with the key authorization found here, and nothing else.
 */
public interface Http01Challenges {
  Optional<String> keyAuthorization(String token);

  /** No ACME in use (local CA, static certificates). */
  Http01Challenges NONE = token -> Optional.empty();
}
