package dev.vmctl.https.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Certificates from PEM files: one directory per certificate holding {@code tls.crt} (chain, leaf
 * first) and {@code tls.key} (PKCS#8), the layout of a mounted {@code kubernetes.io/tls} Secret.
 * Several directories give per-name certificates next to a wildcard; the most specific match wins.
 * Files are checked for changes at most once per {@code recheck} and reloaded when they change; a
 * broken update keeps the previous certificate (and is logged).
 */
public final class PemCertificateStore implements CertificateStore {
  private static final Logger LOG = LoggerFactory.getLogger(PemCertificateStore.class);

  private final List<Entry> entries = new ArrayList<>();
  private final Clock clock;
  private final Duration recheck;

  /** Loads every directory now; fails when one cannot be read (a misconfiguration). */
  public PemCertificateStore(List<Path> directories, Clock clock, Duration recheck)
      throws IOException, GeneralSecurityException {
    if (directories.isEmpty()) {
      throw new IllegalArgumentException("no certificate directory given");
    }
    this.clock = clock;
    this.recheck = recheck;
    for (Path dir : directories) {
      Entry entry = new Entry(dir.resolve("tls.crt"), dir.resolve("tls.key"));
      entry.load(entry.stamp());
      entries.add(entry);
    }
  }

  @Override
  public Optional<CertifiedKey> forServerName(String serverName) {
    CertifiedKey best = null;
    int bestScore = 0;
    for (Entry entry : entries) {
      CertifiedKey key = entry.current(clock.instant());
      int score = DnsNames.score(key.names(), serverName);
      if (score > bestScore) {
        best = key;
        bestScore = score;
      }
    }
    return Optional.ofNullable(best);
  }

  /** One certificate/key pair and when its files were last seen. */
  private final class Entry {
    private final Path certificate;
    private final Path key;
    private volatile CertifiedKey loaded;
    private volatile String loadedStamp;
    private volatile Instant nextCheck = Instant.MIN;

    Entry(Path certificate, Path key) {
      this.certificate = certificate;
      this.key = key;
    }

    CertifiedKey current(Instant now) {
      if (now.isAfter(nextCheck)) {
        synchronized (this) {
          if (now.isAfter(nextCheck)) {
            nextCheck = now.plus(recheck);
            reloadIfChanged();
          }
        }
      }
      return loaded;
    }

    private void reloadIfChanged() {
      try {
        String stamp = stamp();
        if (!stamp.equals(loadedStamp)) {
          load(stamp);
          LOG.info("reloaded certificate {} (names {})", certificate, loaded.names());
        }
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        LOG.warn(
            "keeping the previous certificate: cannot reload {}: {}", certificate, e.toString());
      }
    }

    void load(String stamp) throws IOException, GeneralSecurityException {
      loaded = PemFiles.read(certificate, key);
      loadedStamp = stamp;
    }

    /** Modification times and sizes (following symlinks, as Secret volumes swap them). */
    String stamp() throws IOException {
      FileTime c = Files.getLastModifiedTime(certificate);
      FileTime k = Files.getLastModifiedTime(key);
      return c.toMillis()
          + ":"
          + Files.size(certificate)
          + ":"
          + k.toMillis()
          + ":"
          + Files.size(key);
    }
  }
}
