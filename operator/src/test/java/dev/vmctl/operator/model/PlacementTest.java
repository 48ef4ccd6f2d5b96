package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementTest {
  static final long GI = 1L << 30;
  static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

  static HostView host(String name, int cpus, long memGi, Map<String, String> labels) {
    return new HostView(
        name,
        labels,
        true,
        false,
        NOW.minusSeconds(5),
        new Amounts(cpus, memGi * GI, 1000 * GI),
        Set.of("debian-12"),
        0);
  }

  static Placement.Request request(int cpus, long memGi) {
    return new Placement.Request(
        new Amounts(cpus, memGi * GI, 10 * GI), null, "debian-12", false, null);
  }

  static Placement.Cluster cluster(List<HostView> hosts, Map<String, Amounts> allocated) {
    return new Placement.Cluster(hosts, load(allocated), Map.of(), NOW, Duration.ofSeconds(40));
  }

  /** One VM's worth of load per host entry. */
  static Map<String, HostLoad> load(Map<String, Amounts> allocated) {
    Map<String, HostLoad> load = new java.util.HashMap<>();
    allocated.forEach((h, a) -> load.put(h, HostLoad.of(a)));
    return load;
  }

  @Test
  void packChoosesTheMostAllocatedHostAndSpreadTheLeast() {
    List<HostView> hosts = List.of(host("a", 16, 64, Map.of()), host("b", 16, 64, Map.of()));
    var allocated = Map.of("a", new Amounts(8, 32 * GI, 0));
    assertThat(Placement.decide(request(2, 4), cluster(hosts, allocated), Strategy.PACK).host())
        .contains("a");
    assertThat(Placement.decide(request(2, 4), cluster(hosts, allocated), Strategy.SPREAD).host())
        .contains("b");
  }

  @Test
  void ownersOtherVmsAttractTheNextOne() {
    List<HostView> hosts = List.of(host("a", 16, 64, Map.of()), host("b", 16, 64, Map.of()));
    var c =
        new Placement.Cluster(
            hosts,
            load(Map.of("a", new Amounts(8, 32 * GI, 0), "b", new Amounts(1, GI, 0))),
            Map.of("b", Map.of("ada", 1)),
            NOW,
            Duration.ofSeconds(40));
    var r = new Placement.Request(new Amounts(1, GI, GI), null, "debian-12", false, "ada");
    assertThat(Placement.decide(r, c, Strategy.PACK).host()).contains("b");
  }

  @Test
  void explainsEachClassOfHostThatDoesNotFit() {
    List<HostView> hosts =
        List.of(
            host("a", 16, 6, Map.of()),
            host("b", 16, 4, Map.of()),
            host("c", 16, 5, Map.of()),
            new HostView(
                "d", Map.of(), false, false, NOW, new Amounts(64, 512 * GI, 0), Set.of(), 0),
            new HostView(
                "e",
                Map.of(),
                true,
                false,
                NOW.minusSeconds(300),
                new Amounts(64, 512 * GI, 0),
                Set.of("debian-12"),
                0));
    Placement.Decision d = Placement.decide(request(2, 8), cluster(hosts, Map.of()), Strategy.PACK);
    assertThat(d.placed()).isFalse();
    assertThat(d.message())
        .isEqualTo(
            "1 host is not ready; 1 host missed heartbeats; 3 hosts lack memory: need 8Gi, largest free 6Gi");
  }

  @Test
  void nodeSelectorImageAndCpuMisfits() {
    List<HostView> hosts =
        List.of(
            host("a", 16, 64, Map.of("zone", "b")),
            new HostView(
                "b",
                Map.of("zone", "a"),
                true,
                false,
                NOW,
                new Amounts(16, 64 * GI, 100 * GI),
                Set.of(),
                0),
            host("c", 2, 64, Map.of("zone", "a")));
    var r =
        new Placement.Request(
            new Amounts(4, GI, GI), Map.of("zone", "a"), "debian-12", false, null);
    assertThat(Placement.decide(r, cluster(hosts, Map.of()), Strategy.PACK).message())
        .isEqualTo(
            "1 host does not match nodeSelector zone=a; 1 host lacks image debian-12; 1 host lacks vCPUs: need 4, largest free 2");
    var fetchable =
        new Placement.Request(new Amounts(4, GI, GI), Map.of("zone", "a"), "debian-12", true, null);
    assertThat(Placement.decide(fetchable, cluster(hosts, Map.of()), Strategy.PACK).host())
        .contains("b");
  }

  @Test
  void noHostsAtAll() {
    assertThat(
            Placement.decide(request(1, 1), cluster(List.of(), Map.of()), Strategy.PACK).message())
        .isEqualTo("no hosts are registered");
  }

  @Test
  void allocationCountsAgainstAllocatable() {
    List<HostView> hosts = List.of(host("a", 4, 8, Map.of()));
    assertThat(Placement.decide(request(4, 8), cluster(hosts, Map.of()), Strategy.PACK).placed())
        .isTrue();
    assertThat(
            Placement.decide(
                    request(1, 1),
                    cluster(hosts, Map.of("a", new Amounts(4, GI, 0))),
                    Strategy.PACK)
                .message())
        .isEqualTo("1 host lacks vCPUs: need 1, largest free 0");
  }
}
