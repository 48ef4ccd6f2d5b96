package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.Trees;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Volumes as files on a filesystem with reflinks (btrfs or XFS): the root is {@code cp
 * --reflink=always} of {@code <pool>/images/<image>.raw} (a copy-on-write clone in milliseconds),
 * the data volume a reflink of the pool's pre-formatted template (ext4, label vmctl-data; see
 * {@link DataTemplate}) grown to its size. Both are sparse. VM files live in the VM's state
 * directory, which must be on the same filesystem as the pool.
 */
public final class ReflinkStorage implements Storage {
  private static final String ROOT = "root.img";
  private static final String DATA = "data.img";
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
  public boolean rootReady(VmPlan plan) throws IOException {
    Path root = plan.rootVolume();
    return Files.isRegularFile(root) && Files.size(root) >= plan.rootDiskBytes();
  }

  @Override
  public String ensureRoot(VmPlan plan) throws IOException {
    Path root = plan.rootVolume();
    if (Files.exists(root)) {
      growTo(root, plan.rootDiskBytes()); // the guest grows its filesystem at boot
      return root.toString();
    }
    Path base = imagePath(plan.image());
    if (!Files.exists(base)) {
      throw new IOException("image " + plan.image() + " is not on this host (" + base + ")");
    }
    cloneIfMissing(base, root, plan.rootDiskBytes());
    return root.toString();
  }

  /**
   * Grows a volume file to a size (sparse: the new blocks cost nothing until written), in-process
   * like {@code truncate -s}: one process fewer per volume.
   */
  private static void growTo(Path volume, long bytes) throws IOException {
    try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
      if (file.length() < bytes) {
        file.setLength(bytes);
      }
    }
  }

  @Override
  public boolean dataReady(VmPlan plan) throws IOException {
    Path data = plan.dataVolume();
    return Files.isRegularFile(data)
        && Files.size(data) >= plan.diskBytes()
        && VolumeLabel.read(commands, data.toString()).filter(DATA_LABEL::equals).isPresent();
  }

  @Override
  public String ensureData(VmPlan plan) throws IOException {
    Path data = plan.dataVolume();
    if (Files.exists(data)) {
      // Grow: the guest's ext4 is grown at its next boot (vmctl-growdata.service).
      growTo(data, plan.diskBytes());
      VolumeLabel.formatIfBlank(commands, data.toString());
      return data.toString();
    }
    Files.createDirectories(plan.dir());
    Path tmp = partial(plan.dataVolume());
    Files.deleteIfExists(tmp);
    commands.must("cp", "--reflink=always", dataTemplate().toString(), tmp.toString());
    growTo(tmp, plan.diskBytes());
    DataTemplate.giveOwnIdentity(commands, tmp.toString());
    Files.move(tmp, data); // a crash before this leaves only a .tmp, redone next time
    return data.toString();
  }

  /**
   * The pool's empty, formatted data volume that new ones are cloned from (made once; a clone, a
   * grow and a new UUID take milliseconds where mkfs.ext4 took ~100 ms).
   */
  synchronized Path dataTemplate() throws IOException {
    Path template = pool.resolve("templates").resolve(DataTemplate.NAME + ".img");
    if (Files.isRegularFile(template)) {
      return template;
    }
    Files.createDirectories(template.getParent());
    Path tmp = template.resolveSibling(template.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp);
    growTo(tmp, DataTemplate.SIZE);
    DataTemplate.format(commands, tmp.toString(), true);
    Files.move(tmp, template, StandardCopyOption.ATOMIC_MOVE);
    return template;
  }

  @Override
  public String rootDevice(VmPlan plan) {
    return plan.rootVolume().toString();
  }

  @Override
  public String dataDevice(VmPlan plan) {
    return plan.dataVolume().toString();
  }

  @Override
  public void removeRoot(VmPlan plan) throws IOException {
    Files.deleteIfExists(plan.rootVolume());
    Files.deleteIfExists(partial(plan.rootVolume()));
  }

  @Override
  public void removeData(VmPlan plan) throws IOException {
    Files.deleteIfExists(plan.dataVolume());
    Files.deleteIfExists(partial(plan.dataVolume()));
  }

  /** Where a complete snapshot's volumes are: {@code <pool>/snapshots/<name>/{root,data}.img}. */
  Path snapshotDir(String snapshot) {
    return pool.resolve("snapshots").resolve(SnapshotNames.checked(snapshot));
  }

  @Override
  public boolean snapshotReady(String snapshot) throws IOException {
    Path dir = snapshotDir(snapshot);
    return Files.isRegularFile(dir.resolve(ROOT)) && Files.isRegularFile(dir.resolve(DATA));
  }

  @Override
  public long snapshot(VmPlan plan, String snapshot) throws IOException {
    Path dir = snapshotDir(snapshot);
    if (!snapshotReady(snapshot)) {
      if (!Files.isRegularFile(plan.rootVolume()) || !Files.isRegularFile(plan.dataVolume())) {
        throw new IOException("VM " + plan.name() + " has no volumes on this host to snapshot");
      }
      // Copied beside the final name and renamed in one step: a crash leaves only the .tmp.
      Path tmp = partial(dir);
      Trees.delete(tmp);
      Files.createDirectories(tmp);
      commands.must(
          "cp", "--reflink=always", plan.rootVolume().toString(), tmp.resolve(ROOT).toString());
      commands.must(
          "cp", "--reflink=always", plan.dataVolume().toString(), tmp.resolve(DATA).toString());
      Trees.delete(dir);
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    }
    return allocated(dir);
  }

  @Override
  public void restore(VmPlan plan, String snapshot) throws IOException {
    if (!snapshotReady(snapshot)) {
      throw new IOException("snapshot " + snapshot + " is not on this host");
    }
    Path dir = snapshotDir(snapshot);
    cloneIfMissing(dir.resolve(ROOT), plan.rootVolume(), plan.rootDiskBytes());
    cloneIfMissing(dir.resolve(DATA), plan.dataVolume(), plan.diskBytes());
  }

  /**
   * A reflink clone of {@code from} at {@code volume}, grown to {@code bytes} (never shrunk), made
   * as {@code <volume>.tmp} and renamed: a crash leaves only the .tmp, redone next time. An
   * existing volume is left alone.
   */
  private void cloneIfMissing(Path from, Path volume, long bytes) throws IOException {
    if (Files.exists(volume)) {
      return;
    }
    Files.createDirectories(volume.getParent());
    Path tmp = partial(volume);
    Files.deleteIfExists(tmp);
    commands.must("cp", "--reflink=always", from.toString(), tmp.toString());
    growTo(tmp, bytes);
    Files.move(tmp, volume);
  }

  /** Where a volume or snapshot is made before its rename: the same name with .tmp. */
  private static Path partial(Path path) {
    return path.resolveSibling(path.getFileName() + ".tmp");
  }

  @Override
  public void removeSnapshot(String snapshot) throws IOException {
    Path dir = snapshotDir(snapshot);
    Trees.delete(partial(dir));
    Trees.delete(dir);
  }

  /**
   * Bytes allocated to the snapshot's files ({@code du}): extents still shared with the VM or the
   * image count in full, so this is an upper bound of what deleting the snapshot frees.
   */
  private long allocated(Path dir) throws IOException {
    return Long.parseLong(commands.must("du", "-s", "-B1", dir.toString()).split("\\s+")[0]);
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
