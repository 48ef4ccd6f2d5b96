package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.Quota;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a host has room for (issue 15): vCPUs against cores times the overcommit ratio (the node
 * daemon publishes the product as allocatable), memory plus the per-VM overhead and never
 * overcommitted, root and data disks together; quotas count vCPUs and memory as asked.
 */
class HostRoomTest {
  static final long GI = 1L << 30;
  static final long MI = 1L << 20;

  /** A 2-core host with ratio 4 as the node daemon publishes it: 8 vCPUs allocatable. */
  static HostView twoCoresRatioFour(long memory, long overhead) {
    return new HostView(
        "h",
        Map.of(),
        true,
        false,
        PlacementTest.NOW,
        new Amounts(8, memory, 1000 * GI),
        Set.of("debian-12"),
        overhead);
  }

  static Placement.Request oneVcpu(long memory) {
    return new Placement.Request(
        new Amounts(1, memory, 10 * GI, 10 * GI), null, "debian-12", false, null);
  }

  @Test
  void eightOneVcpuVmsFitTwoCoresAtRatioFourAndTheNinthIsRefusedInVcpus() {
    HostView host = twoCoresRatioFour(64 * GI, 0);
    Map<String, HostLoad> load = new HashMap<>();
    for (int i = 1; i <= 8; i++) {
      Placement.Decision d = decide(host, load, oneVcpu(GI));
      assertThat(d.host()).as("VM %d of 8", i).contains("h");
      load.merge("h", HostLoad.of(oneVcpu(GI).demand()), HostLoad::plus);
    }
    Placement.Decision ninth = decide(host, load, oneVcpu(GI));
    assertThat(ninth.placed()).isFalse();
    assertThat(ninth.message()).isEqualTo("1 host lacks vCPUs: need 1, largest free 0");
  }

  @Test
  void everyRunningVmCostsItsMemoryPlusTheHostsOverheadAndMemoryIsNeverOvercommitted() {
    // 4Gi allocatable, 1Gi VMs, 512Mi overhead: two fit (3Gi), a third would need 4.5Gi.
    HostView host = twoCoresRatioFour(4 * GI, 512 * MI);
    Map<String, HostLoad> load = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      assertThat(decide(host, load, oneVcpu(GI)).placed()).isTrue();
      load.merge("h", HostLoad.of(oneVcpu(GI).demand()), HostLoad::plus);
    }
    assertThat(Placement.used(load, host).memory()).isEqualTo(3 * GI);
    Placement.Decision third = decide(host, load, oneVcpu(GI));
    assertThat(third.message())
        .isEqualTo("1 host lacks memory: need 1Gi + 512Mi overhead, largest free 1Gi");
    // Without the overhead it would have fitted: the overhead is what keeps the host from OOM.
    HostView noOverhead = twoCoresRatioFour(4 * GI, 0);
    assertThat(decide(noOverhead, load, oneVcpu(GI)).placed()).isTrue();
  }

  @Test
  void aStoppedVmsDisksStayReservedButItsCpuMemoryAndOverheadDoNot() {
    HostView host = twoCoresRatioFour(4 * GI, 512 * MI);
    Amounts vm = oneVcpu(GI).demand();
    HostLoad stopped = HostLoad.of(vm.disksOnly());
    assertThat(stopped.holding()).isZero();
    assertThat(Placement.used(Map.of("h", stopped), host))
        .isEqualTo(new Amounts(0, 0, 10 * GI, 10 * GI));
    assertThat(Placement.used(Map.of("h", HostLoad.of(vm)), host))
        .isEqualTo(new Amounts(1, GI + 512 * MI, 10 * GI, 10 * GI));
  }

  @Test
  void rootAndDataDisksCountTogetherOnTheHost() {
    HostView small =
        new HostView(
            "h",
            Map.of(),
            true,
            false,
            PlacementTest.NOW,
            new Amounts(8, 64 * GI, 30 * GI),
            Set.of("debian-12"),
            0);
    Map<String, HostLoad> load = new HashMap<>();
    assertThat(decide(small, load, oneVcpu(GI)).placed()).isTrue();
    load.put("h", HostLoad.of(oneVcpu(GI).demand()));
    assertThat(decide(small, load, oneVcpu(GI)).message())
        .isEqualTo("1 host lacks disk: need 20Gi, largest free 10Gi");
  }

  @Test
  void quotasCountVcpusAndMemoryAsAskedAndDiskAsRootPlusData() {
    Quota q = new Quota();
    q.getMetadata().setName("default");
    q.setSpec(new Quota.Spec());
    q.getSpec().hard = new Quota.Amounts(null, 2, "2Gi", "30Gi");
    Amounts vm = new Amounts(1, GI, 10 * GI, 10 * GI);
    QuotaCheck.Usage one = QuotaCheck.Usage.NONE.plus(vm);
    assertThat(QuotaCheck.exceeded(List.of(q), one, new Amounts(1, GI, 5 * GI, 5 * GI)))
        .as("memory without overhead: 1Gi + 1Gi fits 2Gi; disk 20Gi + 10Gi fits 30Gi")
        .isEmpty();
    assertThat(QuotaCheck.exceeded(List.of(q), one, vm))
        .contains("quota exceeded: default: disk (root and data) need 20Gi, 10Gi of 30Gi left");
    assertThat(QuotaCheck.toStatus(one.plus(vm)).disk).isEqualTo("40Gi");
    assertThat(QuotaCheck.exceeded(List.of(q), one.plus(vm), new Amounts(1, 0, 0, 0)))
        .hasValueSatisfying(m -> assertThat(m).contains("vCPUs need 1, 0 of 2 left"));
    assertThat(Optional.of(Demand.toResource(vm.disksOnly())))
        .hasValueSatisfying(
            r -> {
              assertThat(r.cpus).as("not granted").isNull();
              assertThat(r.memory).as("not granted").isNull();
              assertThat(r.disk).isEqualTo("10Gi");
              assertThat(r.rootDisk).isEqualTo("10Gi");
            });
  }

  static Placement.Decision decide(
      HostView host, Map<String, HostLoad> load, Placement.Request request) {
    return Placement.decide(
        request,
        new Placement.Cluster(
            List.of(host), Map.copyOf(load), Map.of(), PlacementTest.NOW, Duration.ofSeconds(40)),
        Strategy.PACK);
  }
}
