package dev.vmctl.node.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reflink driver on a real btrfs pool (a loop mount, as root): root volumes grown to the plan's
 * root disk, data volumes cloned from the pool's formatted template, each with its own UUID and a
 * root directory the guest's user owns, and a filesystem that grows to the volume as the guest's
 * {@code vmctl-growdata.service} does it.
 */
@Tag("host")
class ReflinkStorageHostTest {
  static final long GIB = 1L << 30;
  final Commands commands = new ProcessCommands();
  @TempDir Path dir;
  Path pool;
  ReflinkStorage storage;

  @BeforeEach
  void pool() throws IOException {
    pool = dir.resolve("pool");
    Files.createDirectories(pool);
    commands.must("truncate", "-s", "40G", dir.resolve("pool.img").toString());
    commands.must("mkfs.btrfs", "-q", dir.resolve("pool.img").toString());
    commands.must("mount", "-o", "loop", dir.resolve("pool.img").toString(), pool.toString());
    Files.createDirectories(pool.resolve("images"));
    Path image = pool.resolve("images/debian-12.raw");
    commands.must("truncate", "-s", "64M", image.toString());
    commands.must("mkfs.ext4", "-q", "-L", "vmctl-root", image.toString());
    storage = new ReflinkStorage(pool, commands, "btrfs");
  }

  @AfterEach
  void unmount() throws IOException {
    commands.run(List.of("umount", pool.toString()));
  }

  @Test
  void theRootCloneIsGrownToTheRootDiskSparselyAndGrowsAgainButNeverShrinks() throws IOException {
    VmPlan plan = plan("aaaaaaaaaaaa", GIB, 10 * GIB);
    assertThat(storage.rootReady(plan)).isFalse();
    storage.ensureRoot(plan);
    assertThat(storage.rootReady(plan)).isTrue();
    assertThat(Files.size(plan.rootVolume())).isEqualTo(10 * GIB);
    assertThat(allocated(plan.rootVolume())).as("sparse: only the image's blocks").isLessThan(GIB);
    assertThat(label(plan.rootVolume())).isEqualTo("vmctl-root");

    VmPlan grown = plan("aaaaaaaaaaaa", GIB, 12 * GIB);
    assertThat(storage.rootReady(grown)).as("a larger root disk is not ready yet").isFalse();
    storage.ensureRoot(grown);
    assertThat(Files.size(plan.rootVolume())).isEqualTo(12 * GIB);

    storage.ensureRoot(plan("aaaaaaaaaaaa", GIB, 2 * GIB));
    assertThat(Files.size(plan.rootVolume())).as("never shrunk").isEqualTo(12 * GIB);
  }

  @Test
  void dataVolumesAreClonesOfOneTemplateEachWithItsOwnUuidOwnedByTheGuestUser() throws Exception {
    VmPlan a = plan("aaaaaaaaaaaa", 10 * GIB, 2 * GIB);
    VmPlan b = plan("bbbbbbbbbbbb", 20 * GIB, 2 * GIB);
    assertThat(storage.dataReady(a)).isFalse();
    storage.ensureData(a);
    storage.ensureData(b);
    assertThat(storage.dataReady(a)).isTrue();
    assertThat(storage.dataReady(b)).isTrue();
    Path template = storage.dataTemplate();
    assertThat(Files.size(a.dataVolume())).isEqualTo(10 * GIB);
    assertThat(Files.size(b.dataVolume())).isEqualTo(20 * GIB);
    assertThat(List.of(uuid(a.dataVolume()), uuid(b.dataVolume()), uuid(template)))
        .as("no two volumes share a filesystem UUID")
        .doesNotHaveDuplicates();
    assertThat(label(a.dataVolume())).isEqualTo("vmctl-data");
    assertThat(commands.must("debugfs", "-R", "stat /", a.dataVolume().toString()))
        .as("/data belongs to the guest's user")
        .containsPattern("User: +1000 +Group: +1000");
    assertThat(commands.must("e2fsck", "-fn", a.dataVolume().toString()))
        .as("the clone with its new UUID is a consistent filesystem")
        .contains("vmctl-data");

    // What the guest's vmctl-growdata.service does to /data (offline here, online there).
    commands.must("resize2fs", a.dataVolume().toString());
    assertThat(blocks(a.dataVolume()) * 4096).isEqualTo(10 * GIB);
  }

  @Test
  void aLeftoverTemporaryCloneIsRedoneAndRemoveLeavesNothing() throws IOException {
    VmPlan a = plan("aaaaaaaaaaaa", 10 * GIB, 2 * GIB);
    Files.createDirectories(a.dir());
    Files.writeString(a.dir().resolve("data.img.tmp"), "half a clone from a crash");
    storage.ensureData(a);
    storage.ensureRoot(a);
    assertThat(storage.dataReady(a)).isTrue();
    assertThat(a.dir().resolve("data.img.tmp")).doesNotExist();
    storage.remove(a);
    assertThat(a.dataVolume()).doesNotExist();
    assertThat(a.rootVolume()).doesNotExist();
  }

  @Test
  void aSnapshotKeepsWhatWasWrittenBeforeItAndItsRestoredCloneThenDivergesFromTheSource()
      throws IOException {
    VmPlan source = plan("aaaaaaaaaaaa", 10 * GIB, 2 * GIB);
    storage.ensureRoot(source);
    storage.ensureData(source);
    writeFile(source.dataVolume(), "/before", "written before the snapshot");
    assertThat(storage.snapshotReady("snap-1")).isFalse();

    long bytes = storage.snapshot(source, "snap-1");
    assertThat(storage.snapshotReady("snap-1")).isTrue();
    assertThat(bytes).as("allocated, not the sparse size").isPositive().isLessThan(GIB);
    writeFile(source.dataVolume(), "/after", "written after the snapshot");

    VmPlan clone = plan("cccccccccccc", 12 * GIB, 3 * GIB);
    storage.restore(clone, "snap-1");
    assertThat(storage.rootReady(clone)).isTrue();
    assertThat(storage.dataReady(clone)).as("the data volume keeps its label").isTrue();
    assertThat(Files.size(clone.dataVolume())).as("grown to the clone's disk").isEqualTo(12 * GIB);
    assertThat(readFile(clone.dataVolume(), "/before")).isEqualTo("written before the snapshot");
    assertThat(readFile(clone.dataVolume(), "/after")).as("not in the snapshot").isEmpty();

    writeFile(clone.dataVolume(), "/clone-only", "the clone's own");
    assertThat(readFile(source.dataVolume(), "/clone-only")).as("they diverge").isEmpty();
    assertThat(readFile(source.dataVolume(), "/after")).isEqualTo("written after the snapshot");

    storage.restore(clone, "snap-1"); // measured: the clone's volumes exist and are kept
    assertThat(readFile(clone.dataVolume(), "/clone-only")).isEqualTo("the clone's own");
    storage.removeSnapshot("snap-1");
    assertThat(storage.snapshotReady("snap-1")).isFalse();
    assertThat(pool.resolve("snapshots")).isEmptyDirectory();
    assertThat(readFile(clone.dataVolume(), "/before"))
        .as("a clone outlives its snapshot")
        .isEqualTo("written before the snapshot");
  }

  @Test
  void aPartialSnapshotIsRedoneAndBadNamesOrMissingSnapshotsAreRefusedClearly() throws IOException {
    VmPlan source = plan("aaaaaaaaaaaa", 10 * GIB, 2 * GIB);
    Path partial = pool.resolve("snapshots/snap-2.tmp");
    Files.createDirectories(partial);
    Files.writeString(partial.resolve("root.img"), "half a copy from a crash");
    assertThat(storage.snapshotReady("snap-2")).isFalse();
    assertThatThrownBy(() -> storage.snapshot(source, "snap-2"))
        .hasMessageContaining("has no volumes on this host");

    storage.ensureRoot(source);
    storage.ensureData(source);
    storage.snapshot(source, "snap-2");
    assertThat(partial).doesNotExist();
    assertThat(Files.size(pool.resolve("snapshots/snap-2/root.img"))).isEqualTo(2 * GIB);

    for (String hostile : List.of("../vms", "a/b", "", "UPPER", "-x")) {
      assertThatThrownBy(() -> storage.snapshot(source, hostile))
          .as(hostile)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("lower-case letters, digits and '-'");
    }
    assertThatThrownBy(() -> storage.restore(plan("dddddddddddd", GIB, 2 * GIB), "absent"))
        .hasMessage("snapshot absent is not on this host");
    assertThat(plan("dddddddddddd", GIB, 2 * GIB).dir()).doesNotExist();
  }

  void writeFile(Path volume, String name, String text) throws IOException {
    Path src = dir.resolve("src.txt");
    Files.writeString(src, text);
    commands.must("debugfs", "-w", "-R", "write " + src + " " + name, volume.toString());
  }

  String readFile(Path volume, String name) throws IOException {
    Commands.Result r = commands.run(List.of("debugfs", "-R", "cat " + name, volume.toString()));
    return r.stdout();
  }

  String label(Path volume) throws IOException {
    return commands.must("blkid", "-p", "-o", "value", "-s", "LABEL", volume.toString()).strip();
  }

  String uuid(Path volume) throws IOException {
    return commands.must("blkid", "-p", "-o", "value", "-s", "UUID", volume.toString()).strip();
  }

  long blocks(Path volume) throws IOException {
    for (String line : commands.must("dumpe2fs", "-h", volume.toString()).split("\n")) {
      if (line.startsWith("Block count:")) {
        return Long.parseLong(line.substring("Block count:".length()).strip());
      }
    }
    throw new IOException("no block count");
  }

  long allocated(Path file) throws IOException {
    return Long.parseLong(commands.must("du", "-B1", file.toString()).split("\\s+")[0]);
  }

  VmPlan plan(String id, long disk, long rootDisk) {
    return new VmPlan(
        id,
        "web",
        "ns",
        pool.resolve("vms").resolve(id),
        "debian-12",
        1,
        1,
        GIB,
        GIB,
        disk,
        "vt" + id,
        "52:54:00:00:00:01",
        "10.0.0.2",
        "10.0.0.1",
        24,
        3,
        rootDisk);
  }
}
