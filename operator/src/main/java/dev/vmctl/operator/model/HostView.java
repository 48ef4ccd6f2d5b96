package dev.vmctl.operator.model;

import dev.vmctl.api.v1alpha1.Host;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/** The facts about a Host that scheduling needs, read once from the cache. */
public record HostView(
    String name,
    Map<String, String> labels,
    boolean ready,
    boolean unschedulable,
    Instant heartbeat,
    Amounts allocatable,
    Set<String> images) {

  public static HostView of(Host host) {
    Host.Status status = host.getStatus();
    boolean ready = false;
    Instant heartbeat = null;
    Amounts allocatable = Amounts.ZERO;
    Set<String> images = Set.of();
    if (status != null) {
      for (Condition c : status.conditions) {
        if ("Ready".equals(c.getType())) {
          ready = "True".equals(c.getStatus());
        }
      }
      heartbeat = status.heartbeatTime == null ? null : Instant.parse(status.heartbeatTime);
      allocatable = Demand.of(status.allocatable);
      images = status.images == null ? Set.of() : Set.copyOf(status.images);
    }
    boolean unschedulable =
        host.getSpec() != null && Boolean.TRUE.equals(host.getSpec().unschedulable);
    Map<String, String> labels =
        host.getMetadata().getLabels() == null ? Map.of() : host.getMetadata().getLabels();
    return new HostView(
        host.getMetadata().getName(), labels, ready, unschedulable, heartbeat, allocatable, images);
  }

  /** A heartbeat older than the grace period means the host is lost. */
  public boolean fresh(Instant now, Duration grace) {
    return heartbeat != null && !heartbeat.isBefore(now.minus(grace));
  }
}
