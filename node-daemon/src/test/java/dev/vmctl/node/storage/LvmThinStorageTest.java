package dev.vmctl.node.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Command construction and lvs parsing, against captured and format-faithful fixtures. */
class LvmThinStorageTest {

  /** Answers lvs with a fixture, records every other command; independent of the real runner. */
  static final class FixtureCommands implements Commands {
    final List<List<String>> commands = new ArrayList<>();
    final java.util.Map<String, String> labels =
        new java.util.HashMap<>(java.util.Map.of("/dev/vmctl/vm-0123456789ab-data", "vmctl-data"));
    String lvsFixture;
    Result failWith;

    FixtureCommands(String lvsFixture) {
      this.lvsFixture = lvsFixture;
    }

    @Override
    public Result run(List<String> argv) throws IOException {
      commands.add(argv);
      if (argv.get(0).equals("lvs")) {
        return new Result(0, fixture(lvsFixture), "");
      }
      if (argv.get(0).equals("blkid")) { // exit 2: blkid found no filesystem
        String label = labels.get(argv.get(argv.size() - 1));
        return label == null ? new Result(2, "", "") : new Result(0, label + "\n", "");
      }
      return failWith != null ? failWith : new Result(0, "", "");
    }
  }

  static String fixture(String name) throws IOException {
    try (var in = LvmThinStorageTest.class.getResourceAsStream("/lvm/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static VmPlan plan(String id, long disk) {
    return new VmPlan(
        id,
        "web",
        "ns",
        Path.of("/var/lib/vmctl/vms", id),
        "debian-12",
        1,
        1,
        1L << 30,
        1L << 30,
        disk,
        "vt" + id,
        "52:54:00:00:00:01",
        "10.0.0.2",
        "10.0.0.1",
        24,
        3);
  }

  static VmPlan withRootDisk(VmPlan p, long rootDisk) {
    return new VmPlan(
        p.id(),
        p.name(),
        p.namespace(),
        p.dir(),
        p.image(),
        p.cpus(),
        p.maxCpus(),
        p.memoryBytes(),
        p.maxMemoryBytes(),
        p.diskBytes(),
        p.tap(),
        p.mac(),
        p.ipAddress(),
        p.gateway(),
        p.prefix(),
        p.vsockCid(),
        rootDisk);
  }

  @Test
  void parsesCapturedAndThinReports() throws IOException {
    assertThat(LvmThinStorage.parse(fixture("lvs-empty.json"))).isEmpty();
    List<LvmThinStorage.Lv> lvs = LvmThinStorage.parse(fixture("lvs-thin.json"));
    assertThat(lvs)
        .extracting(LvmThinStorage.Lv::name)
        .containsExactly("base-debian-12", "pool", "vm-0123456789ab-data", "vm-0123456789ab-root");
    assertThat(lvs.get(3).origin()).isEqualTo("base-debian-12");
    assertThat(lvs.get(1).sizeBytes()).isEqualTo(107374182400L);
    assertThat(lvs.get(1).dataPercent()).isEqualTo(12.5);
  }

  @Test
  void createsASnapshotRootAndAThinDataVolumeOnlyWhenMissing() throws IOException {
    FixtureCommands commands = new FixtureCommands("lvs-thin.json");
    LvmThinStorage storage = new LvmThinStorage(commands, "vmctl", "pool");
    VmPlan fresh = withRootDisk(plan("aaaaaaaaaaaa", 20L << 30), 12L << 30);
    assertThat(storage.ensureRoot(fresh)).isEqualTo("/dev/vmctl/vm-aaaaaaaaaaaa-root");
    assertThat(storage.ensureData(fresh)).isEqualTo("/dev/vmctl/vm-aaaaaaaaaaaa-data");
    List<List<String>> acts =
        commands.commands.stream()
            .filter(c -> !List.of("lvs", "blkid").contains(c.get(0)))
            .toList();
    assertThat(acts.subList(0, 8))
        .containsExactly(
            List.of(
                "lvcreate",
                "--snapshot",
                "--name",
                "vm-aaaaaaaaaaaa-root",
                "--setactivationskip",
                "n",
                "--activate",
                "y",
                "vmctl/base-debian-12"),
            // The snapshot has its origin's size (2 GiB in the fixture): grown to the root disk.
            List.of("lvextend", "--size", (12L << 30) + "b", "vmctl/vm-aaaaaaaaaaaa-root"),
            // The template, once per pool: 1 GiB, formatted with its tables written, renamed whole.
            List.of(
                "lvcreate",
                "--thin",
                "--virtualsize",
                (1L << 30) + "b",
                "--name",
                "tmpl-data-ext4-v1-new",
                "vmctl/pool"),
            List.of(
                "mkfs.ext4",
                "-q",
                "-F",
                "-L",
                "vmctl-data",
                "-O",
                "metadata_csum_seed",
                "-E",
                "root_owner=1000:1000,lazy_itable_init=0,lazy_journal_init=0,nodiscard",
                "/dev/vmctl/tmpl-data-ext4-v1-new"),
            List.of("lvrename", "vmctl", "tmpl-data-ext4-v1-new", "tmpl-data-ext4-v1"),
            // The data volume: a snapshot of the template, grown, its own UUID, renamed whole.
            List.of(
                "lvcreate",
                "--snapshot",
                "--name",
                "vm-aaaaaaaaaaaa-data-new",
                "--setactivationskip",
                "n",
                "--activate",
                "y",
                "vmctl/tmpl-data-ext4-v1"),
            List.of("lvextend", "--size", (20L << 30) + "b", "vmctl/vm-aaaaaaaaaaaa-data-new"),
            List.of("tune2fs", "-U", acts.get(7).get(2), "/dev/vmctl/vm-aaaaaaaaaaaa-data-new"));
    assertThat(UUID.fromString(acts.get(7).get(2)).version()).as("random UUID").isEqualTo(4);
    assertThat(acts.get(8))
        .isEqualTo(
            List.of("lvrename", "vmctl", "vm-aaaaaaaaaaaa-data-new", "vm-aaaaaaaaaaaa-data"));

    commands.commands.clear();
    VmPlan existing = plan("0123456789ab", 10L << 30);
    storage.ensureRoot(existing);
    storage.ensureData(existing);
    assertThat(commands.commands).allMatch(c -> List.of("lvs", "blkid").contains(c.get(0)));

    commands.commands.clear();
    storage.ensureData(plan("0123456789ab", 30L << 30));
    assertThat(commands.commands)
        .contains(List.of("lvextend", "--size", (30L << 30) + "b", "vmctl/vm-0123456789ab-data"));
  }

  @Test
  void removesOnlyWhatExistsAndReportsImagesAndCapacity() throws IOException {
    FixtureCommands commands = new FixtureCommands("lvs-thin.json");
    LvmThinStorage storage = new LvmThinStorage(commands, "vmctl", "pool");
    storage.remove(plan("0123456789ab", 1));
    storage.remove(plan("ffffffffffff", 1));
    assertThat(commands.commands.stream().filter(c -> c.get(0).equals("lvremove")))
        .containsExactly(
            List.of("lvremove", "--yes", "vmctl/vm-0123456789ab-data"),
            List.of("lvremove", "--yes", "vmctl/vm-0123456789ab-root"));
    assertThat(storage.images()).containsExactly("debian-12");
    assertThat(storage.capacity()).containsExactly(107374182400L, 93952409600L);
  }

  @Test
  void missingImageAndDeviceMapperErrorsAreClear() throws IOException {
    FixtureCommands commands = new FixtureCommands("lvs-empty.json");
    LvmThinStorage storage = new LvmThinStorage(commands, "vmctl", "pool");
    assertThatThrownBy(() -> storage.ensureRoot(plan("aaaaaaaaaaaa", 1)))
        .hasMessage("image debian-12 is not on this host (no LV vmctl/base-debian-12)");
    commands.failWith =
        new Commands.Result(3, "", fixture("lvcreate-thin-pool-no-device-mapper.stderr"));
    assertThatThrownBy(() -> storage.ensureData(plan("aaaaaaaaaaaa", 1L << 30)))
        .isInstanceOf(Commands.CommandFailed.class)
        .hasMessageContaining("Required device-mapper target(s) not detected");
  }

  /** Issue 16: both volumes as thin snapshots, renamed whole; restored as a new VM's volumes. */
  @Test
  void snapshotsBothVolumesUnderNewNamesRenamedWholeAndRestoresThemAsANewVmsVolumes()
      throws IOException {
    FixtureCommands commands = new FixtureCommands("lvs-thin.json");
    LvmThinStorage storage = new LvmThinStorage(commands, "vmctl", "pool");
    VmPlan source = plan("0123456789ab", 10L << 30);
    assertThat(storage.snapshotReady("s1")).isFalse();
    storage.snapshot(source, "s1");
    assertThat(acts(commands))
        .containsExactly(
            snapshotCommand("snap-s1-root-new", "vm-0123456789ab-root"),
            snapshotCommand("snap-s1-data-new", "vm-0123456789ab-data"),
            List.of("lvrename", "vmctl", "snap-s1-root-new", "snap-s1-root"),
            List.of("lvrename", "vmctl", "snap-s1-data-new", "snap-s1-data"));
    assertThatThrownBy(() -> storage.snapshot(plan("ffffffffffff", 1), "s2"))
        .hasMessage("VM web has no volumes on this host to snapshot");
    assertThatThrownBy(() -> storage.restore(plan("ffffffffffff", 1), "s1"))
        .hasMessage("snapshot s1 is not on this host");
    assertThatThrownBy(() -> storage.snapshot(source, "../x"))
        .isInstanceOf(IllegalArgumentException.class);

    commands.commands.clear();
    commands.lvsFixture = "lvs-snapshot.json";
    assertThat(storage.snapshotReady("s1")).isTrue();
    assertThat(storage.snapshot(source, "s1"))
        .as("measured, not taken again: the two LVs' data_percent of their sizes")
        .isEqualTo((long) (2147483648L * 0.42) + (long) (10737418240L * 0.031));
    assertThat(acts(commands)).isEmpty();
    storage.restore(withRootDisk(plan("cccccccccccc", 20L << 30), 4L << 30), "s1");
    assertThat(acts(commands))
        .containsExactly(
            snapshotCommand("vm-cccccccccccc-root", "snap-s1-root"),
            List.of("lvextend", "--size", (4L << 30) + "b", "vmctl/vm-cccccccccccc-root"),
            snapshotCommand("vm-cccccccccccc-data-new", "snap-s1-data"),
            List.of("lvextend", "--size", (20L << 30) + "b", "vmctl/vm-cccccccccccc-data-new"),
            List.of("lvrename", "vmctl", "vm-cccccccccccc-data-new", "vm-cccccccccccc-data"));
    commands.commands.clear();
    storage.removeSnapshot("s1");
    assertThat(acts(commands))
        .containsExactly(
            List.of("lvremove", "--yes", "vmctl/snap-s1-data"),
            List.of("lvremove", "--yes", "vmctl/snap-s1-root"));
  }

  static List<List<String>> acts(FixtureCommands commands) {
    return commands.commands.stream()
        .filter(c -> !List.of("lvs", "blkid").contains(c.get(0)))
        .toList();
  }

  static List<String> snapshotCommand(String name, String origin) {
    return List.of(
        "lvcreate",
        "--snapshot",
        "--name",
        name,
        "--setactivationskip",
        "n",
        "--activate",
        "y",
        "vmctl/" + origin);
  }

  /** Issue 13: a crash between lvcreate and mkfs left a blank LV that counted as done. */
  @Test
  void aBlankDataVolumeIsNotReadyAndIsFormattedButAForeignOneIsRefused() throws IOException {
    FixtureCommands commands = new FixtureCommands("lvs-thin.json");
    LvmThinStorage storage = new LvmThinStorage(commands, "vmctl", "pool");
    VmPlan existing = plan("0123456789ab", 10L << 30);
    assertThat(storage.dataReady(existing)).isTrue();
    commands.labels.remove("/dev/vmctl/vm-0123456789ab-data");
    assertThat(storage.dataReady(existing)).isFalse();
    storage.ensureData(existing);
    assertThat(commands.commands).anyMatch(c -> c.get(0).equals("mkfs.ext4"));

    commands.commands.clear();
    commands.labels.put("/dev/vmctl/vm-0123456789ab-data", "home");
    assertThat(storage.dataReady(existing)).isFalse();
    assertThatThrownBy(() -> storage.ensureData(existing))
        .hasMessageContaining("not vmctl's (label 'home'); refusing to format it");
    assertThat(commands.commands).noneMatch(c -> c.get(0).equals("mkfs.ext4"));
  }
}
