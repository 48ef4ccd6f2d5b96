package dev.vmctl.node.steps;

import dev.vmctl.node.hostkeys.RootFiles;
import dev.vmctl.node.model.GuestSeed;
import dev.vmctl.node.storage.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The guest's seed (network, hostname, authorised keys, this boot's token; {@link GuestSeed}) in
 * the root volume before every boot, so sshd takes logins before the guest agent answers (decision
 * 29). Run only while the hypervisor is down, in the start pass, like {@link HostKeysStep}. A seed
 * directory the image lacks (an image that is not vmctl's) is skipped: the agent configures such a
 * guest when it answers. Measured and verified by reading the files back.
 *
 * <p>The token is fresh for every boot (a boot that started after the token was made has used it),
 * so a console line from an earlier boot never counts for this one. It lives in the VM's state
 * directory ({@code boot-token}), so a restarted daemon still recognises the boot. An image without
 * {@code /etc/vmctl/seed} gets nothing and no token: its agent configures it.
 */
public final class GuestSeedStep implements HostStep {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Storage storage;
  private final RootFiles files;
  private final String user;

  public GuestSeedStep(Storage storage, RootFiles files, String user) {
    this.storage = storage;
    this.files = files;
    this.user = user;
  }

  @Override
  public String name() {
    return "guest seed";
  }

  /**
   * This boot's token, or empty when the VM's boots are not seeded (an image without the seed
   * directory, or not started since this daemon seeds): then no ready line is to be expected.
   */
  public static Optional<String> token(Path vmDir) {
    try {
      return Optional.of(Files.readString(tokenFile(vmDir)).strip());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    Map<String, Optional<RootFiles.Owner>> owners = new HashMap<>();
    if (!seedable(pass, owners)) {
      return Files.exists(tokenFile(pass.plan().dir()));
    }
    return tokenUsed(pass) || !matches(pass, owners);
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    Map<String, Optional<RootFiles.Owner>> owners = new HashMap<>();
    if (!seedable(pass, owners)) {
      // Not a vmctl image: no ready line will come, so no token may promise one.
      Files.deleteIfExists(tokenFile(pass.plan().dir()));
      return;
    }
    if (tokenUsed(pass)) {
      byte[] token = new byte[16];
      RANDOM.nextBytes(token);
      Files.writeString(tokenFile(pass.plan().dir()), HexFormat.of().formatHex(token));
    }
    Path staging = Files.createTempDirectory(pass.plan().dir(), "seed-");
    try {
      List<RootFiles.GuestFile> write = new ArrayList<>();
      int n = 0;
      for (GuestSeed.File f : desired(pass)) {
        Optional<RootFiles.Owner> owner = owner(pass, f, owners);
        if (owner.isEmpty()) {
          continue;
        }
        Path source = staging.resolve(Integer.toString(n++));
        Files.writeString(source, f.content());
        write.add(
            new RootFiles.GuestFile(
                f.path(), source, f.mode(), f.userOwned() ? owner.get() : RootFiles.Owner.ROOT));
      }
      files.write(storage.rootDevice(pass.plan()), write);
    } finally {
      try (var list = Files.list(staging)) {
        for (Path p : list.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(staging);
    }
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    Map<String, Optional<RootFiles.Owner>> owners = new HashMap<>();
    if (!seedable(pass, owners)) {
      return !Files.exists(tokenFile(pass.plan().dir()));
    }
    return !tokenUsed(pass) && matches(pass, owners);
  }

  /**
   * The image has the seed directory, and so the units that read the seed and print its token.
   * Looked up through the call's directory cache, which the seed's own files then reuse.
   */
  private boolean seedable(VmPass pass, Map<String, Optional<RootFiles.Owner>> owners)
      throws IOException {
    return directoryOwner(pass, GuestSeed.SEED_DIR, owners).isPresent();
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    Files.deleteIfExists(tokenFile(pass.plan().dir()));
  }

  private static Path tokenFile(Path vmDir) {
    return vmDir.resolve("boot-token");
  }

  /** No token yet, or one a boot has already started with. */
  private static boolean tokenUsed(VmPass pass) throws IOException {
    Path file = tokenFile(pass.plan().dir());
    if (!Files.exists(file)) {
      return true;
    }
    // Never booted: the epoch, which every token is newer than.
    return !Files.getLastModifiedTime(file)
        .toInstant()
        .isAfter(BootRecord.started(pass.plan(), Instant.EPOCH));
  }

  private List<GuestSeed.File> desired(VmPass pass) {
    String token = token(pass.plan().dir()).orElse("");
    return GuestSeed.files(pass.plan(), pass.status().ipAddress, pass.keys(), user, token);
  }

  private boolean matches(VmPass pass, Map<String, Optional<RootFiles.Owner>> owners)
      throws IOException {
    String volume = storage.rootDevice(pass.plan());
    for (GuestSeed.File f : desired(pass)) {
      if (owner(pass, f, owners).isPresent()
          && !new String(files.read(volume, f.path()), StandardCharsets.UTF_8)
              .equals(f.content())) {
        return false;
      }
    }
    return true;
  }

  /** The owner of the file's directory; empty when the image has no such directory. */
  private Optional<RootFiles.Owner> owner(
      VmPass pass, GuestSeed.File f, Map<String, Optional<RootFiles.Owner>> cache)
      throws IOException {
    return directoryOwner(pass, f.path().substring(0, f.path().lastIndexOf('/')), cache);
  }

  private Optional<RootFiles.Owner> directoryOwner(
      VmPass pass, String dir, Map<String, Optional<RootFiles.Owner>> cache) throws IOException {
    Optional<RootFiles.Owner> known = cache.get(dir);
    if (known == null) {
      known = files.directoryOwner(storage.rootDevice(pass.plan()), dir);
      cache.put(dir, known);
    }
    return known;
  }
}
