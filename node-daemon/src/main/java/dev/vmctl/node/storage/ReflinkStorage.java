package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
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
    Files.createDirectories(plan.dir());
    Path tmp = plan.dir().resolve("root.img.tmp");
    commands.must("cp", "--reflink=always", base.toString(), tmp.toString());
    growTo(tmp, plan.rootDiskBytes());
    Files.move(tmp, root); // a crash before this leaves only a .tmp, redone next time
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
    Path tmp = plan.dir().resolve("data.img.tmp");
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
    Files.deleteIfExists(plan.dir().resolve("root.img.tmp"));
  }

  @Override
  public void removeData(VmPlan plan) throws IOException {
    Files.deleteIfExists(plan.dataVolume());
    Files.deleteIfExists(plan.dir().resolve("data.img.tmp"));
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
