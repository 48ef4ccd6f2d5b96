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
import org.junit.jupiter.api.Test;

/** Command construction and lvs parsing, against captured and format-faithful fixtures. */
class LvmThinStorageTest {

  /** Answers lvs with a fixture, records every other command; independent of the real runner. */
  static final class FixtureCommands implements Commands {
    final List<List<String>> commands = new ArrayList<>();
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
    VmPlan fresh = plan("aaaaaaaaaaaa", 20L << 30);
    assertThat(storage.ensureRoot(fresh)).isEqualTo("/dev/vmctl/vm-aaaaaaaaaaaa-root");
    assertThat(storage.ensureData(fresh)).isEqualTo("/dev/vmctl/vm-aaaaaaaaaaaa-data");
    assertThat(commands.commands)
        .contains(
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
            List.of(
                "lvcreate",
                "--thin",
                "--virtualsize",
                (20L << 30) + "b",
                "--name",
                "vm-aaaaaaaaaaaa-data",
                "vmctl/pool"),
            List.of(
                "mkfs.ext4", "-q", "-F", "-L", "vmctl-data", "/dev/vmctl/vm-aaaaaaaaaaaa-data"));

    commands.commands.clear();
    VmPlan existing = plan("0123456789ab", 10L << 30);
    storage.ensureRoot(existing);
    storage.ensureData(existing);
    assertThat(commands.commands).allMatch(c -> c.get(0).equals("lvs"));

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
            List.of("lvremove", "--yes", "vmctl/vm-0123456789ab-root"),
            List.of("lvremove", "--yes", "vmctl/vm-0123456789ab-data"));
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
}
