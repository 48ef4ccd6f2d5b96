package dev.vmctl.operator.model;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Pure placement: filter hosts, explain the ones that do not fit, score the ones that do. */
public final class Placement {
  private Placement() {}

  /** What is asked for. */
  public record Request(
      Amounts demand,
      Map<String, String> nodeSelector,
      String image,
      boolean imageFetchable,
      String owner) {}

  /**
   * What the cluster looks like right now.
   *
   * @param load what is reserved on each host (ledger), by host name
   */
  public record Cluster(
      List<HostView> hosts,
      Map<String, HostLoad> load,
      Map<String, Map<String, Integer>> vmsByOwnerByHost,
      Instant now,
      Duration heartbeatGrace) {}

  /** Either a host, or a sentence saying why none fits. */
  public record Decision(Optional<String> host, String message) {
    public boolean placed() {
      return host.isPresent();
    }
  }

  /** Why one host was filtered out; the order is the order filters run in. */
  enum Misfit {
    NOT_READY,
    UNSCHEDULABLE,
    STALE,
    SELECTOR,
    IMAGE,
    VCPUS,
    MEMORY,
    DISK
  }

  public static Decision decide(Request request, Cluster cluster, Strategy strategy) {
    Map<Misfit, List<HostView>> misfits = new EnumMap<>(Misfit.class);
    List<HostView> fitting = new ArrayList<>();
    for (HostView host : cluster.hosts()) {
      Misfit misfit = misfit(request, cluster, host);
      if (misfit == null) {
        fitting.add(host);
      } else {
        misfits.computeIfAbsent(misfit, m -> new ArrayList<>()).add(host);
      }
    }
    if (!fitting.isEmpty()) {
      Comparator<HostView> byScore =
          Comparator.comparingDouble((HostView h) -> score(request, cluster, h, strategy))
              .reversed()
              .thenComparing(HostView::name);
      HostView best = fitting.stream().sorted(byScore).findFirst().orElseThrow();
      return new Decision(Optional.of(best.name()), "placed on " + best.name());
    }
    return new Decision(Optional.empty(), explain(request, cluster, misfits));
  }

  private static Misfit misfit(Request request, Cluster cluster, HostView host) {
    if (!host.ready()) {
      return Misfit.NOT_READY;
    }
    if (host.unschedulable()) {
      return Misfit.UNSCHEDULABLE;
    }
    if (!host.fresh(cluster.now(), cluster.heartbeatGrace())) {
      return Misfit.STALE;
    }
    if (request.nodeSelector() != null) {
      for (var e : request.nodeSelector().entrySet()) {
        if (!e.getValue().equals(host.labels().get(e.getKey()))) {
          return Misfit.SELECTOR;
        }
      }
    }
    if (!request.imageFetchable() && !host.images().contains(request.image())) {
      return Misfit.IMAGE;
    }
    Amounts free = free(cluster, host);
    Amounts need = host.onHost(request.demand());
    if (need.cpus() > free.cpus()) {
      return Misfit.VCPUS;
    }
    if (need.memory() > free.memory()) {
      return Misfit.MEMORY;
    }
    if (need.storage() > free.storage()) {
      return Misfit.DISK;
    }
    return null;
  }

  /** Everything taken on {@code host}: reservations and the memory overhead of each running VM. */
  public static Amounts used(Map<String, HostLoad> load, HostView host) {
    return load.getOrDefault(host.name(), HostLoad.NONE).used(host.vmMemoryOverhead());
  }

  static Amounts free(Cluster cluster, HostView host) {
    return host.allocatable().minus(used(cluster.load(), host));
  }

  /** Higher is better. */
  private static double score(Request request, Cluster cluster, HostView host, Strategy strategy) {
    Amounts after = used(cluster.load(), host).plus(host.onHost(request.demand()));
    double cpu = ratio(after.cpus(), host.allocatable().cpus());
    double memory = ratio(after.memory(), host.allocatable().memory());
    double utilisation = (cpu + memory) / 2;
    double score = strategy == Strategy.PACK ? utilisation : 1 - utilisation;
    if (request.owner() != null) {
      int mine =
          cluster
              .vmsByOwnerByHost()
              .getOrDefault(host.name(), Map.of())
              .getOrDefault(request.owner(), 0);
      if (mine > 0) {
        score += 1; // outweighs any utilisation difference
      }
    }
    return score;
  }

  private static double ratio(long used, long total) {
    return total <= 0 ? 1 : (double) used / total;
  }

  private static String explain(Request request, Cluster cluster, Map<Misfit, List<HostView>> m) {
    if (cluster.hosts().isEmpty()) {
      return "no hosts are registered";
    }
    List<String> parts = new ArrayList<>();
    for (var entry : m.entrySet()) {
      List<HostView> hosts = entry.getValue();
      String count = hosts.size() + (hosts.size() == 1 ? " host" : " hosts");
      String is = hosts.size() == 1 ? " is" : " are";
      String does = hosts.size() == 1 ? " does" : " do";
      String lack = hosts.size() == 1 ? " lacks" : " lack";
      Amounts demand = request.demand();
      parts.add(
          switch (entry.getKey()) {
            case NOT_READY -> count + is + " not ready";
            case UNSCHEDULABLE -> count + is + " marked unschedulable";
            case STALE -> count + " missed heartbeats";
            case SELECTOR ->
                count
                    + does
                    + " not match nodeSelector "
                    + request.nodeSelector().entrySet().stream()
                        .map(e -> e.getKey() + "=" + e.getValue())
                        .sorted()
                        .collect(Collectors.joining(","));
            case IMAGE -> count + lack + " image " + request.image();
            case VCPUS ->
                count
                    + lack
                    + " vCPUs: need "
                    + demand.cpus()
                    + ", largest free "
                    + largest(cluster, hosts, Amounts::cpus);
            case MEMORY ->
                count
                    + lack
                    + " memory: need "
                    + Amounts.human(demand.memory())
                    + overhead(hosts)
                    + ", largest free "
                    + Amounts.human(largest(cluster, hosts, Amounts::memory));
            case DISK ->
                count
                    + lack
                    + " disk: need "
                    + Amounts.human(demand.storage())
                    + ", largest free "
                    + Amounts.human(largest(cluster, hosts, Amounts::storage));
          });
    }
    return String.join("; ", parts);
  }

  /** " + 512Mi overhead" when the hosts that lack memory charge one overhead, else the range. */
  private static String overhead(List<HostView> hosts) {
    long min = hosts.stream().mapToLong(HostView::vmMemoryOverhead).min().orElse(0);
    long max = hosts.stream().mapToLong(HostView::vmMemoryOverhead).max().orElse(0);
    if (max == 0) {
      return "";
    }
    String figure =
        min == max ? Amounts.human(max) : Amounts.human(min) + " to " + Amounts.human(max);
    return " + " + figure + " overhead";
  }

  private static long largest(
      Cluster cluster, List<HostView> hosts, java.util.function.ToLongFunction<Amounts> field) {
    return hosts.stream()
        .mapToLong(h -> Math.max(0, field.applyAsLong(free(cluster, h))))
        .max()
        .orElse(0);
  }
}
