package dev.vmctl.ssh;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;

/** Connections, authentication failures, commands and proxied bytes. */
public final class GatewayMetrics {
  private final MeterRegistry registry;
  private final AtomicInteger openSessions = new AtomicInteger();
  private final Counter connections;

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.connections = registry.counter("vmctl_ssh_connections_total");
    registry.gauge("vmctl_ssh_sessions_open", openSessions);
  }

  public void connected() {
    connections.increment();
    openSessions.incrementAndGet();
  }

  public void disconnected() {
    openSessions.decrementAndGet();
  }

  public void authFailure(String reason) {
    registry.counter("vmctl_ssh_auth_failures_total", "reason", reason).increment();
  }

  public void command(String name, int exitStatus) {
    registry
        .counter("vmctl_ssh_commands_total", "command", name, "ok", String.valueOf(exitStatus == 0))
        .increment();
  }

  public void proxied(String mode, String direction, long bytes) {
    registry
        .counter("vmctl_ssh_proxy_bytes_total", "mode", mode, "direction", direction)
        .increment(bytes);
  }

  public void proxySession(String mode) {
    registry.counter("vmctl_ssh_proxy_sessions_total", "mode", mode).increment();
  }

  public MeterRegistry registry() {
    return registry;
  }
}
