package dev.vmctl.operator.model;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.v1alpha1.Host;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * The facts about a Host that scheduling needs, read once from the cache.
 *
 * @param allocatable what VMs may reserve: vCPUs (the node daemon applied the overcommit ratio),
 *     memory (never overcommitted) and the storage pool
 * @param vmMemoryOverhead memory each VM that holds memory needs on this host beyond its own
 *     (hypervisor and device processes); 0 from a node daemon that does not publish it
 */
public record HostView(
    String name,
    Map<String, String> labels,
    boolean ready,
    boolean unschedulable,
    Instant heartbeat,
    Amounts allocatable,
    Set<String> images,
    long vmMemoryOverhead) {

  public static HostView of(Host host) {
    Host.Status status = host.getStatus();
    boolean ready = false;
    Instant heartbeat = null;
    Amounts allocatable = Amounts.ZERO;
    Set<String> images = Set.of();
    long overhead = 0;
    if (status != null) {
      for (Condition c : status.conditions) {
        if (ConditionTypes.READY.equals(c.getType())) {
          ready = "True".equals(c.getStatus());
        }
      }
      heartbeat = status.heartbeatTime == null ? null : Instant.parse(status.heartbeatTime);
      allocatable = Demand.of(status.allocatable);
      images = status.images == null ? Set.of() : Set.copyOf(status.images);
      overhead = Amounts.bytes(status.vmMemoryOverhead);
    }
    boolean unschedulable =
        host.getSpec() != null && Boolean.TRUE.equals(host.getSpec().unschedulable);
    Map<String, String> labels =
        host.getMetadata().getLabels() == null ? Map.of() : host.getMetadata().getLabels();
    return new HostView(
        host.getMetadata().getName(),
        labels,
        ready,
        unschedulable,
        heartbeat,
        allocatable,
        images,
        overhead);
  }

  /** What one VM asking for {@code demand} takes from this host: its memory plus the overhead. */
  public Amounts onHost(Amounts demand) {
    return demand.holdsCpuAndMemory() ? demand.plusMemory(vmMemoryOverhead) : demand;
  }

  /** A heartbeat older than the grace period means the host is lost. */
  public boolean fresh(Instant now, Duration grace) {
    return heartbeat != null && !heartbeat.isBefore(now.minus(grace));
  }
}
