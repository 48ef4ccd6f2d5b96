package dev.vmctl.operator;

import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.operator.model.Strategy;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Operator settings, read from environment variables (see docs/operator.md).
 *
 * @param strategy VMCTL_SCHEDULING_STRATEGY: pack (default) or spread
 * @param heartbeatGrace VMCTL_HEARTBEAT_GRACE: a host whose heartbeat is older is lost (40s)
 * @param domain VMCTL_DOMAIN: VMs are served at https://vm.domain (vm.localhost:8443)
 * @param sshGateway VMCTL_SSH_GATEWAY: the SSH gateway as ssh -J takes it (localhost:2222)
 * @param defaultQuota VMCTL_DEFAULT_QUOTA_*: the Quota each new User's namespace gets
 * @param leaseNamespace VMCTL_LEASE_NAMESPACE: where the leader-election Lease lives
 * @param leaseDuration VMCTL_LEASE_DURATION: how long a silent leader keeps the lease (15s)
 * @param httpPort VMCTL_HTTP_PORT: /metrics, /healthz, /readyz (8080; 0 picks a free port)
 * @param httpBindAddress VMCTL_HTTP_BIND_ADDRESS: the address that port listens on (all when empty)
 */
public record OperatorConfig(
    Strategy strategy,
    Duration heartbeatGrace,
    String domain,
    String sshGateway,
    Quota.Amounts defaultQuota,
    String leaseNamespace,
    Duration leaseDuration,
    int httpPort,
    String httpBindAddress) {

  public static OperatorConfig fromEnvironment(Map<String, String> env) {
    return new OperatorConfig(
        Strategy.valueOf(
            env.getOrDefault("VMCTL_SCHEDULING_STRATEGY", "pack").toUpperCase(Locale.ROOT)),
        Duration.parse(
            "PT" + env.getOrDefault("VMCTL_HEARTBEAT_GRACE", "40s").toUpperCase(Locale.ROOT)),
        env.getOrDefault("VMCTL_DOMAIN", "vm.localhost:8443"),
        env.getOrDefault("VMCTL_SSH_GATEWAY", "localhost:2222"),
        new Quota.Amounts(
            Integer.parseInt(env.getOrDefault("VMCTL_DEFAULT_QUOTA_VMS", "5")),
            Integer.parseInt(env.getOrDefault("VMCTL_DEFAULT_QUOTA_CPUS", "8")),
            env.getOrDefault("VMCTL_DEFAULT_QUOTA_MEMORY", "16Gi"),
            env.getOrDefault("VMCTL_DEFAULT_QUOTA_DISK", "200Gi")),
        env.getOrDefault("VMCTL_LEASE_NAMESPACE", "vmctl-system"),
        Duration.parse(
            "PT" + env.getOrDefault("VMCTL_LEASE_DURATION", "15s").toUpperCase(Locale.ROOT)),
        Integer.parseInt(env.getOrDefault("VMCTL_HTTP_PORT", "8080")),
        env.getOrDefault("VMCTL_HTTP_BIND_ADDRESS", ""));
  }

  public OperatorConfig withStrategy(Strategy s) {
    return new OperatorConfig(
        s,
        heartbeatGrace,
        domain,
        sshGateway,
        defaultQuota,
        leaseNamespace,
        leaseDuration,
        httpPort,
        httpBindAddress);
  }

  public OperatorConfig withHeartbeatGrace(Duration d) {
    return new OperatorConfig(
        strategy,
        d,
        domain,
        sshGateway,
        defaultQuota,
        leaseNamespace,
        leaseDuration,
        httpPort,
        httpBindAddress);
  }
}
