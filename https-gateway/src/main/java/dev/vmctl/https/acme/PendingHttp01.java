package dev.vmctl.https.acme;

import dev.vmctl.https.tls.Http01Challenges;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** HTTP-01 key authorizations while their challenge is open; the plain-HTTP listener reads them. */
public final class PendingHttp01 implements Http01Challenges {
  private final Map<String, String> byToken = new ConcurrentHashMap<>();

  void put(String token, String keyAuthorization) {
    byToken.put(token, keyAuthorization);
  }

  void remove(String token) {
    byToken.remove(token);
  }

  @Override
  public Optional<String> keyAuthorization(String token) {
    return Optional.ofNullable(byToken.get(token));
  }
}
