package dev.vmctl.node.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a host offers VMs: vCPUs overcommitted by the ratio in effect, memory never (issue 15). */
class HostCapacityTest {
  static final long GI = 1L << 30;

  @Test
  void vcpusAreCoresLessTheReservedOnesTimesTheRatio() {
    assertThat(new HostCapacity(2, 0, 4).allocatableVcpus()).isEqualTo(8);
    assertThat(new HostCapacity(96, 2, 4).allocatableVcpus()).isEqualTo(376);
    assertThat(new HostCapacity(2, 0, 1).allocatableVcpus())
        .as("ratio 1: a core per vCPU")
        .isEqualTo(2);
    assertThat(new HostCapacity(2, 4, 4).allocatableVcpus()).as("never negative").isZero();
  }

  @Test
  void theHostsOwnRatioWinsOverTheClusterDefault() {
    assertThat(HostCapacity.ratio(null, 4)).isEqualTo(4);
    assertThat(HostCapacity.ratio(10, 4)).isEqualTo(10);
    assertThat(HostCapacity.ratio(1, 4)).isEqualTo(1);
  }

  @Test
  void memoryIsNeverOvercommitted() {
    assertThat(HostCapacity.allocatableMemory(64 * GI, 2 * GI)).isEqualTo(62 * GI);
    assertThat(HostCapacity.allocatableMemory(GI, 2 * GI)).isZero();
  }
}
