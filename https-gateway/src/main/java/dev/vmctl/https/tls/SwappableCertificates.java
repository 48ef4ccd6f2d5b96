package dev.vmctl.https.tls;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link CertificateStore} whose certificates are replaced whole: each handshake reads one
 * immutable snapshot, so a renewal swapped in mid-flight is never seen half-written, and a
 * connection already open keeps the key it negotiated with.
 */
public final class SwappableCertificates implements CertificateStore {
  private final AtomicReference<Map<String, CertifiedKey>> byId = new AtomicReference<>(Map.of());

  /** Puts {@code key} under {@code id} (one slot per certificate), replacing what was there. */
  public void put(String id, CertifiedKey key) {
    byId.updateAndGet(
        current -> {
          Map<String, CertifiedKey> next = new LinkedHashMap<>(current);
          next.put(id, key);
          return Map.copyOf(next);
        });
  }

  public Optional<CertifiedKey> get(String id) {
    return Optional.ofNullable(byId.get().get(id));
  }

  /** An exact name beats a wildcard, so {@code vm.example.com} need not match {@code *.com}. */
  @Override
  public Optional<CertifiedKey> forServerName(String serverName) {
    Map<String, CertifiedKey> snapshot = byId.get();
    Optional<CertifiedKey> exact =
        snapshot.values().stream()
            .filter(k -> k.names().stream().anyMatch(n -> n.equalsIgnoreCase(serverName)))
            .findFirst();
    if (exact.isPresent()) {
      return exact;
    }
    return snapshot.values().stream()
        .filter(k -> ServerNames.coversAny(k.names(), serverName))
        .findFirst();
  }
}
