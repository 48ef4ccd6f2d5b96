package dev.vmctl.node.host.cgroup;

import static dev.vmctl.node.host.cgroup.CgroupLimitsTest.MIB;
import static dev.vmctl.node.host.cgroup.CgroupLimitsTest.plan;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Discovery, limits and read-back on cgroup trees laid out like the kernel's, in a temporary
 * directory (no root): the control files are plain files here, so what is written is what is read
 * back. The real hierarchies are {@code VmCgroupHostTest}'s.
 */
class HostCgroupsTest {
  @TempDir Path root;

  void v1(String name, String... files) throws IOException {
    Path h = root.resolve(name);
    Files.createDirectories(h);
    Files.writeString(h.resolve("cgroup.procs"), "1\n");
    for (String f : files) {
      Files.writeString(h.resolve(f), f.startsWith("cpuset.") ? "0-1\n" : "0\n");
    }
  }

  void v2(Path h, String controllers) throws IOException {
    Files.createDirectories(h);
    Files.writeString(h.resolve("cgroup.procs"), "1\n");
    Files.writeString(h.resolve("cgroup.controllers"), controllers + "\n");
    Files.writeString(h.resolve("cgroup.subtree_control"), "\n");
  }

  @Test
  void v1HierarchiesAreFoundOnceEachWithTheirControllers() throws IOException {
    v1("cpu,cpuacct", "cpu.shares");
    Files.createSymbolicLink(root.resolve("cpu"), root.resolve("cpu,cpuacct"));
    Files.createSymbolicLink(root.resolve("cpuacct"), root.resolve("cpu,cpuacct"));
    v1("memory", "memory.limit_in_bytes");
    v1("pids", "pids.max");
    v1("cpuset", "cpuset.cpus", "cpuset.mems");
    Files.createDirectories(root.resolve("not-a-hierarchy"));

    List<HostCgroups.Hierarchy> found = HostCgroups.discover(root);

    assertThat(found)
        .extracting(h -> h.path().getFileName().toString())
        .containsExactlyInAnyOrder("cpu", "memory", "pids", "cpuset");
    assertThat(found).allMatch(h -> !h.v2());
    assertThat(byName(found, "cpu").controllers()).containsExactly("cpu");
    assertThat(byName(found, "memory").controllers()).containsExactly("memory");
    assertThat(byName(found, "pids").controllers()).containsExactly("pids");
  }

  static HostCgroups.Hierarchy byName(List<HostCgroups.Hierarchy> found, String name) {
    return found.stream()
        .filter(h -> h.path().getFileName().toString().equals(name))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void v1LimitsAreWrittenAndReadBack() throws IOException {
    v1("cpu", "cpu.shares");
    v1("memory", "memory.limit_in_bytes");
    v1("cpuset", "cpuset.cpus", "cpuset.mems");
    VmCgroup cgroups = HostCgroups.detect(root, "vmctl", 512 * MIB);
    VmPlan plan = plan(2, 1024 * MIB, 1024 * MIB);

    assertThat(cgroups.needed(plan)).isTrue();
    cgroups.apply(plan);

    Path vm = Path.of("vmctl", plan.id());
    assertThat(
            Files.readString(root.resolve("memory").resolve(vm).resolve("memory.limit_in_bytes")))
        .isEqualTo("" + 1536 * MIB);
    assertThat(Files.readString(root.resolve("cpu").resolve(vm).resolve("cpu.shares")))
        .isEqualTo("2048");
    // A v1 cpuset cgroup starts with no CPUs: nothing could join it without these.
    assertThat(Files.readString(root.resolve("cpuset").resolve(vm).resolve("cpuset.cpus")))
        .isEqualTo("0-1");
    assertThat(cgroups.needed(plan)).isFalse();
    cgroups.verify(plan, List.of());
    // All VMs together weigh like the kubelet's kubepods: the default per host CPU.
    assertThat(Files.readString(root.resolve("cpu/vmctl/cpu.shares")))
        .isEqualTo("" + 1024 * HostCgroups.hostCpus());
  }

  @Test
  void verifyNamesALimitThatDiffers() throws IOException {
    v1("memory", "memory.limit_in_bytes");
    VmCgroup cgroups = HostCgroups.detect(root, "vmctl", 0);
    VmPlan plan = plan(1, 1024 * MIB, 1024 * MIB);
    cgroups.apply(plan);
    Path limit = root.resolve("memory/vmctl").resolve(plan.id()).resolve("memory.limit_in_bytes");
    Files.writeString(limit, "9223372036854771712");

    assertThat(cgroups.needed(plan)).isTrue();
    assertThatThrownBy(() -> cgroups.verify(plan, List.of()))
        .hasMessageContaining(limit.toString())
        .hasMessageContaining("not " + 1024 * MIB);
  }

  @Test
  void verifyNamesAProcessOutsideTheCgroup() throws IOException {
    v1("memory", "memory.limit_in_bytes");
    VmCgroup cgroups = HostCgroups.detect(root, "vmctl", 0);
    VmPlan plan = plan(1, 1024 * MIB, 1024 * MIB);
    cgroups.apply(plan);
    Files.writeString(
        root.resolve("memory/vmctl").resolve(plan.id()).resolve("cgroup.procs"), "7\n");

    cgroups.verify(plan, List.of(7L));
    assertThatThrownBy(() -> cgroups.verify(plan, List.of(7L, 8L)))
        .hasMessageContaining("process 8 is not in");
  }

  @Test
  void v2EnablesMemoryAndCpuForTheParentsChildren() throws IOException {
    v2(root, "cpuset cpu io memory pids");
    VmCgroup cgroups = HostCgroups.detect(root, "vmctl", 256 * MIB);
    VmPlan plan = plan(3, 2048 * MIB, 2048 * MIB);

    cgroups.apply(plan);

    // The fake's subtree_control keeps the last write; the kernel's would list both.
    assertThat(Files.readString(root.resolve("cgroup.subtree_control"))).startsWith("+");
    assertThat(Files.readString(root.resolve("vmctl/cgroup.subtree_control"))).startsWith("+");
    Path vm = root.resolve("vmctl").resolve(plan.id());
    assertThat(Files.readString(vm.resolve("memory.max"))).isEqualTo("" + 2304 * MIB);
    assertThat(Files.readString(vm.resolve("cpu.weight"))).isEqualTo("300");
    assertThat(Files.readString(root.resolve("vmctl/cpu.weight")))
        .isEqualTo("" + Math.min(10_000, 100 * HostCgroups.hostCpus()));
    cgroups.verify(plan, List.of());
  }

  @Test
  void v2WithoutControllersStillGivesTheVmItsOwnCgroup() throws IOException {
    // A hybrid host: memory and cpu are bound to v1 hierarchies, the unified one offers none.
    v1("memory", "memory.limit_in_bytes");
    v2(root.resolve("unified"), "");
    HostCgroups cgroups = (HostCgroups) HostCgroups.detect(root, "vmctl", 0);
    VmPlan plan = plan(1, 1024 * MIB, 1024 * MIB);

    cgroups.apply(plan);

    assertThat(cgroups.dirs(plan))
        .containsExactlyInAnyOrder(
            root.resolve("memory/vmctl").resolve(plan.id()),
            root.resolve("unified/vmctl").resolve(plan.id()));
    assertThat(root.resolve("unified/vmctl").resolve(plan.id()).resolve("memory.max"))
        .doesNotExist();
    assertThat(cgroups.joinCommand(plan))
        .isEqualTo(
            "{ echo $$ >'"
                + root.resolve("memory/vmctl").resolve(plan.id()).resolve("cgroup.procs")
                + "' && echo $$ >'"
                + root.resolve("unified/vmctl").resolve(plan.id()).resolve("cgroup.procs")
                + "'; } || exit 1; ");
  }

  @Test
  void anAbsentOrEmptyRootTurnsCgroupsOff() throws IOException {
    assertThat(HostCgroups.detect(root.resolve("absent"), "vmctl", 0)).isSameAs(VmCgroup.NONE);
    assertThat(HostCgroups.detect(root, "vmctl", 0)).isSameAs(VmCgroup.NONE); // no hierarchy
    assertThat(HostCgroups.detect(null, "vmctl", 0)).isSameAs(VmCgroup.NONE);
    assertThat(VmCgroup.NONE.joinCommand(plan(1, MIB, MIB))).isEmpty();
  }

  @Test
  void anUnwritableRootTurnsCgroupsOff() throws IOException {
    v1("memory", "memory.limit_in_bytes");
    // Root ignores permissions; a file where the parent cgroup should go cannot become one.
    Files.writeString(root.resolve("memory/vmctl"), "");
    assertThat(HostCgroups.detect(root, "vmctl", 0)).isSameAs(VmCgroup.NONE);
  }
}
