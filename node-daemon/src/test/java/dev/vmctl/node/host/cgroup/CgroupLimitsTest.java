package dev.vmctl.node.host.cgroup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.node.model.VmPlan;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CgroupLimitsTest {
  static final long MIB = 1 << 20;

  static VmPlan plan(long cpus, long memory, long maxMemory) {
    return new VmPlan(
        "abc123",
        "web",
        "alice",
        Path.of("/var/lib/vmctl/vms/abc123"),
        "debian-12",
        cpus,
        cpus,
        memory,
        maxMemory,
        10L << 30,
        "vmtap0",
        "02:00:00:00:00:01",
        "10.100.0.2",
        "10.100.0.1",
        24,
        3);
  }

  @Test
  void memoryIsTheVmsMemoryPlusTheOverhead() {
    CgroupLimits limits = CgroupLimits.of(plan(2, 1024 * MIB, 1024 * MIB), 512 * MIB);
    assertThat(limits.memoryBytes()).isEqualTo(1536 * MIB);
  }

  @Test
  void memoryCoversWhatHotPlugCanReachWithoutARestart() {
    CgroupLimits limits = CgroupLimits.of(plan(1, 1024 * MIB, 4096 * MIB), 256 * MIB);
    assertThat(limits.memoryBytes()).isEqualTo(4352 * MIB);
  }

  @Test
  void memoryIsRoundedUpToWholePages() {
    CgroupLimits limits = CgroupLimits.of(plan(1, 1000, 1000), 1);
    assertThat(limits.memoryBytes()).isEqualTo(4096);
  }

  @Test
  void cpuWeightIsProportionalToTheVcpus() {
    CgroupLimits one = CgroupLimits.of(plan(1, MIB, MIB), 0);
    CgroupLimits four = CgroupLimits.of(plan(4, MIB, MIB), 0);
    assertThat(one.cpuWeight()).isEqualTo(100); // cgroup v2's default weight
    assertThat(one.cpuShares()).isEqualTo(1024); // cgroup v1's default shares
    assertThat(four.cpuWeight()).isEqualTo(400);
    assertThat(four.cpuShares()).isEqualTo(4096);
    assertThat(four.pidsMax()).isEqualTo(1024);
  }

  @Test
  void cpuWeightStaysInsideTheKernelsRange() {
    CgroupLimits huge = CgroupLimits.of(plan(512, MIB, MIB), 0);
    assertThat(huge.cpuWeight()).isEqualTo(10_000);
    assertThat(huge.cpuShares()).isEqualTo(262_144);
  }
}
