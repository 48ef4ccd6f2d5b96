package dev.vmctl.node.identity;

import dev.vmctl.node.model.Subnet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The one owner of this host's VM identities (IPv4 address, MAC, vsock CID).
 *
 * <p>Each identity is a claim file created with {@code O_EXCL} ({@code ip/10.100.0.7}, {@code
 * cid/7}) holding the uid of the VM that owns it, written before the identity is recorded in the
 * VM's status or used. Exclusive creation makes two claims of one address impossible, even by two
 * daemon processes on one host; the files survive a {@code kill -9} between claiming and recording,
 * and the same VM gets the same identity back. A claim is released only when its VM's cleanup has
 * removed everything that used it, or when its VM no longer exists on this host. Methods are
 * synchronized: reconciles run in parallel, allocation runs one at a time.
 */
public final class Identities {
  /** A VM's identity on this host. The MAC is derived from the address, so it is unique too. */
  public record Identity(String ip, String mac, long cid) {}

  /** A VM (uid) and the identity its status records, if any. */
  public record Holder(String uid, String ip, Long cid) {}

  /** This host's VMs, read fresh from the API server (not a cache) while allocation is locked. */
  @FunctionalInterface
  public interface HostVms {
    Collection<Holder> list() throws IOException;
  }

  /** The first vsock CID a guest may use (0-2 are reserved). */
  static final long FIRST_CID = 3;

  private final Path ips;
  private final Path cids;
  private final Subnet subnet;

  public Identities(Path dir, Subnet subnet) throws IOException {
    this.ips = Files.createDirectories(dir.resolve("ip"));
    this.cids = Files.createDirectories(dir.resolve("cid"));
    this.subnet = subnet;
  }

  /** Locally administered unicast MAC from an IPv4 address: 52:54:a:b:c:d. */
  public static String macFor(String ip) {
    String[] o = ip.split("\\.");
    StringBuilder mac = new StringBuilder("52:54");
    for (String octet : o) {
      mac.append(String.format(":%02x", Integer.parseInt(octet)));
    }
    return mac.toString();
  }

  /**
   * The identity of VM {@code uid}: the one it already holds, else a new one that no claim and no
   * VM of this host (listed fresh) uses. Claims of VMs absent from that list are released first:
   * their VMs are gone (the cleanup finalizer keeps a VM listed until its claims are released).
   */
  public synchronized Identity reserve(String uid, HostVms source) throws IOException {
    // Listed inside the lock: every VM that claimed before this point already exists in the list.
    Collection<Holder> hostVms = source.list();
    releaseAbsent(hostVms, uid);
    Optional<String> ip = claimOf(ips, uid);
    Optional<String> cid = claimOf(cids, uid);
    Set<String> usedIps = new HashSet<>();
    Set<Long> usedCids = new HashSet<>();
    for (Holder h : hostVms) {
      if (!h.uid().equals(uid)) {
        if (h.ip() != null) {
          usedIps.add(h.ip());
        }
        if (h.cid() != null) {
          usedCids.add(h.cid());
        }
      }
    }
    String address = ip.orElse(null);
    while (address == null) {
      String candidate = subnet.firstFree(usedIps);
      if (claim(ips, candidate, uid)) {
        address = candidate;
      } else {
        usedIps.add(candidate);
      }
    }
    Long context = cid.map(Long::valueOf).orElse(null);
    while (context == null) {
      long candidate = FIRST_CID;
      while (usedCids.contains(candidate)) {
        candidate++;
      }
      if (claim(cids, Long.toString(candidate), uid)) {
        context = candidate;
      } else {
        usedCids.add(candidate);
      }
    }
    return new Identity(address, macFor(address), context);
  }

  /**
   * Claims an identity a VM's status already records (a VM from before claims existed, or a state
   * directory that was lost). False when another VM holds the address or the CID: the caller must
   * not use it.
   */
  public synchronized boolean adopt(String uid, String ip, long cid) throws IOException {
    String ipHolder = holder(ips, ip).orElse(null);
    String cidHolder = holder(cids, Long.toString(cid)).orElse(null);
    if ((ipHolder != null && !ipHolder.equals(uid))
        || (cidHolder != null && !cidHolder.equals(uid))) {
      return false;
    }
    if (uid.equals(ipHolder) && uid.equals(cidHolder)) {
      // Every pass of every VM lands here: two reads. A VM never holds a second claim (reserve
      // and adopt only claim for a uid that has none), so the directory scans below are moot.
      return true;
    }
    Optional<String> otherIp = claimOf(ips, uid).filter(v -> !v.equals(ip));
    Optional<String> otherCid = claimOf(cids, uid).filter(v -> !v.equals(Long.toString(cid)));
    if (otherIp.isPresent() || otherCid.isPresent()) {
      return false; // the status disagrees with what this VM claimed: the claim wins
    }
    boolean ok = ipHolder != null || claim(ips, ip, uid);
    ok = ok && (cidHolder != null || claim(cids, Long.toString(cid), uid));
    return ok;
  }

  /** Releases every claim of VM {@code uid} (after its TAP, process and volumes are gone). */
  public synchronized void release(String uid) throws IOException {
    releaseWhere(ips, uid::equals);
    releaseWhere(cids, uid::equals);
  }

  /** The uid holding an address, if any. */
  public synchronized Optional<String> holderOfAddress(String ip) throws IOException {
    return holder(ips, ip);
  }

  private void releaseAbsent(Collection<Holder> hostVms, String keep) throws IOException {
    Set<String> live = new HashSet<>();
    live.add(keep);
    hostVms.forEach(h -> live.add(h.uid()));
    releaseWhere(ips, uid -> !live.contains(uid));
    releaseWhere(cids, uid -> !live.contains(uid));
  }

  private static boolean claim(Path dir, String value, String uid) throws IOException {
    Path tmp = dir.resolve("." + value + "." + uid + ".tmp");
    Files.writeString(tmp, uid, StandardCharsets.UTF_8);
    try {
      // A hard link is created atomically with its content: no reader ever sees an empty claim.
      Files.createLink(dir.resolve(value), tmp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static Optional<String> holder(Path dir, String value) throws IOException {
    try {
      return Optional.of(Files.readString(dir.resolve(value), StandardCharsets.UTF_8).strip());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> claimOf(Path dir, String uid) throws IOException {
    try (DirectoryStream<Path> claims = Files.newDirectoryStream(dir, p -> !isTemp(p))) {
      for (Path claim : claims) {
        if (uid.equals(Files.readString(claim, StandardCharsets.UTF_8).strip())) {
          return Optional.of(claim.getFileName().toString());
        }
      }
    }
    return Optional.empty();
  }

  private static void releaseWhere(Path dir, java.util.function.Predicate<String> uid)
      throws IOException {
    try (DirectoryStream<Path> claims = Files.newDirectoryStream(dir)) {
      for (Path claim : claims) {
        if (staleTemp(claim)) {
          Files.deleteIfExists(claim); // a claim interrupted by a crash
        } else if (!isTemp(claim)
            && uid.test(Files.readString(claim, StandardCharsets.UTF_8).strip())) {
          Files.delete(claim);
        }
      }
    }
  }

  private static boolean isTemp(Path p) {
    return p.getFileName().toString().startsWith(".");
  }

  private static boolean staleTemp(Path p) throws IOException {
    try {
      return isTemp(p)
          && Files.getLastModifiedTime(p).toInstant().isBefore(Instant.now().minusSeconds(60));
    } catch (NoSuchFileException e) {
      return false;
    }
  }
}
