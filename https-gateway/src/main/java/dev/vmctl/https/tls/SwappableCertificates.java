package dev.vmctl.https.tls;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link CertificateStore} whose certificates are replaced whole: each handshake reads one
 * immutable snapshot, so a renewal swapped in mid-flight is never seen half-written, and a
 * connection already open keeps the key it negotiated with. Lookups are two hash probes (exact
 * name, then the wildcard for the parent domain), whatever the number of certificates.
 */
public final class SwappableCertificates implements CertificateStore {
  private final AtomicReference<Snapshot> current = new AtomicReference<>(Snapshot.EMPTY);

  /** Puts {@code key} under {@code id} (one slot per certificate), replacing what was there. */
  public void put(String id, CertifiedKey key) {
    current.updateAndGet(s -> s.with(id, key));
  }

  public Optional<CertifiedKey> get(String id) {
    return Optional.ofNullable(current.get().byId.get(id));
  }

  /** An exact name beats a wildcard; a wildcard covers exactly one more label. */
  @Override
  public Optional<CertifiedKey> forServerName(String serverName) {
    Snapshot s = current.get();
    String name = serverName.toLowerCase(Locale.ROOT);
    CertifiedKey exact = s.exact.get(name);
    if (exact != null) {
      return Optional.of(exact);
    }
    int dot = name.indexOf('.');
    return dot > 0
        ? Optional.ofNullable(s.wildcard.get(name.substring(dot + 1)))
        : Optional.empty();
  }

  private record Snapshot(
      Map<String, CertifiedKey> byId,
      Map<String, CertifiedKey> exact,
      Map<String, CertifiedKey> wildcard) {
    static final Snapshot EMPTY = new Snapshot(Map.of(), Map.of(), Map.of());

    Snapshot with(String id, CertifiedKey key) {
      Map<String, CertifiedKey> ids = new LinkedHashMap<>(byId);
      ids.put(id, key);
      Map<String, CertifiedKey> exactNames = new HashMap<>();
      Map<String, CertifiedKey> wildcards = new HashMap<>();
      for (CertifiedKey k : ids.values()) { // first slot wins when two certificates overlap
        for (String n : k.names()) {
          String lower = n.toLowerCase(Locale.ROOT);
          if (lower.startsWith("*.")) {
            wildcards.putIfAbsent(lower.substring(2), k);
          } else {
            exactNames.putIfAbsent(lower, k);
          }
        }
      }
      return new Snapshot(Map.copyOf(ids), Map.copyOf(exactNames), Map.copyOf(wildcards));
    }
  }
}
