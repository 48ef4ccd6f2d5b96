package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Volumes as files on a filesystem with reflinks (btrfs or XFS): the root is {@code cp
 * --reflink=always} of {@code <pool>/images/<image>.raw} (a copy-on-write clone in milliseconds),
 * the data volume a sparse file formatted ext4 with label vmctl-data. VM files live in the VM's
 * state directory, which must be on the same filesystem as the pool.
 */
public final class ReflinkStorage implements Storage {
  private final Path pool;
  private final Commands commands;
  private final String driver;

  public ReflinkStorage(Path pool, Commands commands, String driver) {
    this.pool = pool;
    this.commands = commands;
    this.driver = driver;
  }

  public Path imagePath(String image) {
    return pool.resolve("images").resolve(image + ".raw");
  }

  @Override
  public String driver() {
    return driver;
  }

  @Override
  public String ensureRoot(VmPlan plan) throws IOException {
    Path root = plan.rootVolume();
    if (Files.exists(root)) {
      return root.toString();
    }
    Path base = imagePath(plan.image());
    if (!Files.exists(base)) {
      throw new IOException("image " + plan.image() + " is not on this host (" + base + ")");
    }
    Files.createDirectories(plan.dir());
    Path tmp = plan.dir().resolve("root.img.tmp");
    commands.must("cp", "--reflink=always", base.toString(), tmp.toString());
    Files.move(tmp, root); // a crash before this leaves only a .tmp, redone next time
    return root.toString();
  }

  @Override
  public String ensureData(VmPlan plan) throws IOException {
    Path data = plan.dataVolume();
    if (Files.exists(data)) {
      if (Files.size(data) < plan.diskBytes()) {
        // Grow: the guest's ext4 is resized online by the agent or at the next boot.
        commands.must("truncate", "-s", Long.toString(plan.diskBytes()), data.toString());
      }
      return data.toString();
    }
    Files.createDirectories(plan.dir());
    Path tmp = plan.dir().resolve("data.img.tmp");
    commands.must("truncate", "-s", Long.toString(plan.diskBytes()), tmp.toString());
    commands.must(
        "mkfs.ext4",
        "-q",
        "-F",
        "-L",
        "vmctl-data",
        "-E",
        "lazy_itable_init=1,lazy_journal_init=1",
        tmp.toString());
    Files.move(tmp, data);
    return data.toString();
  }

  @Override
  public void remove(VmPlan plan) throws IOException {
    for (String f : List.of("root.img", "root.img.tmp", "data.img", "data.img.tmp")) {
      Files.deleteIfExists(plan.dir().resolve(f));
    }
  }

  @Override
  public List<String> images() throws IOException {
    Path dir = pool.resolve("images");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".raw"))
          .map(n -> n.substring(0, n.length() - 4))
          .sorted()
          .toList();
    }
  }

  @Override
  public long[] capacity() throws IOException {
    FileStore store = Files.getFileStore(pool);
    return new long[] {store.getTotalSpace(), store.getUsableSpace()};
  }
}
