package dev.vmctl.ssh;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * SSH gateway settings, read from environment variables (see docs/ssh-gateway.md).
 *
 * @param port VMCTL_SSH_PORT: where the gateway listens (2222; 0 picks a free port)
 * @param namespace VMCTL_NAMESPACE: the gateways' namespace holding keys (vmctl-system)
 * @param hostKeyFile VMCTL_SSH_HOST_KEY_FILE: keep the host key in this file instead of a Secret
 * @param proxyKeyFile VMCTL_SSH_PROXY_KEY_FILE: keep the proxy key in this file instead of a Secret
 * @param gatewayKeyFile VMCTL_GATEWAY_KEY_FILE: the shared signing key file instead of a Secret
 * @param domain VMCTL_DOMAIN: VMs are served at https://vm.domain (vm.localhost:8443)
 * @param publicHost VMCTL_SSH_PUBLIC_HOST: the gateway's name as users type it (localhost)
 * @param publicPort VMCTL_SSH_PUBLIC_PORT: the port users connect to (the listening port)
 * @param guestUser VMCTL_GUEST_USER: the account username routing logs in to in VMs (vmctl)
 * @param vmSshPort VMCTL_VM_SSH_PORT: the VMs' sshd port (22)
 * @param idleTimeout VMCTL_SSH_IDLE_TIMEOUT: close sessions silent this long (30m)
 * @param maxSessionsPerUser VMCTL_SSH_MAX_SESSIONS_PER_USER: concurrent connections per User (10)
 * @param maxAuthFailures VMCTL_SSH_MAX_AUTH_FAILURES: failed authentications per source address
 *     before it is refused (10)
 * @param authFailureWindow VMCTL_SSH_AUTH_FAILURE_WINDOW: the window those are counted in (10m)
 * @param newTimeout VMCTL_SSH_NEW_TIMEOUT: how long {@code new} waits for Running (5m)
 * @param httpPort VMCTL_HTTP_PORT: /metrics, /healthz (8080; 0 picks a free port, -1 disables)
 * @param bindAddress VMCTL_BIND_ADDRESS: the address the SSH listener binds (0.0.0.0: all)
 * @param httpBindAddress VMCTL_HTTP_BIND_ADDRESS: the address the metrics listener binds
 *     (VMCTL_BIND_ADDRESS)
 * @param recheckInterval VMCTL_SSH_RECHECK_INTERVAL: how often open sessions' authorisation is
 *     re-checked besides on every change (5s; catches Shares expiring)
 * @param maxChannels VMCTL_SSH_MAX_CHANNELS: open channels (sessions, tunnels) per connection (10,
 *     as OpenSSH's MaxSessions)
 */
public record SshGatewayConfig(
    int port,
    String namespace,
    Path hostKeyFile,
    Path proxyKeyFile,
    Path gatewayKeyFile,
    String domain,
    String publicHost,
    int publicPort,
    String guestUser,
    int vmSshPort,
    Duration idleTimeout,
    int maxSessionsPerUser,
    int maxAuthFailures,
    Duration authFailureWindow,
    Duration newTimeout,
    int httpPort,
    String bindAddress,
    String httpBindAddress,
    Duration recheckInterval,
    int maxChannels) {

  public static SshGatewayConfig fromEnvironment(Map<String, String> env) {
    int port = Integer.parseInt(env.getOrDefault("VMCTL_SSH_PORT", "2222"));
    String bind = env.getOrDefault("VMCTL_BIND_ADDRESS", "0.0.0.0");
    return new SshGatewayConfig(
        port,
        env.getOrDefault("VMCTL_NAMESPACE", "vmctl-system"),
        path(env.get("VMCTL_SSH_HOST_KEY_FILE")),
        path(env.get("VMCTL_SSH_PROXY_KEY_FILE")),
        path(env.get("VMCTL_GATEWAY_KEY_FILE")),
        env.getOrDefault("VMCTL_DOMAIN", "vm.localhost:8443"),
        env.getOrDefault("VMCTL_SSH_PUBLIC_HOST", "localhost"),
        Integer.parseInt(env.getOrDefault("VMCTL_SSH_PUBLIC_PORT", String.valueOf(port))),
        env.getOrDefault("VMCTL_GUEST_USER", "vmctl"),
        Integer.parseInt(env.getOrDefault("VMCTL_VM_SSH_PORT", "22")),
        duration(env.getOrDefault("VMCTL_SSH_IDLE_TIMEOUT", "30m")),
        Integer.parseInt(env.getOrDefault("VMCTL_SSH_MAX_SESSIONS_PER_USER", "10")),
        Integer.parseInt(env.getOrDefault("VMCTL_SSH_MAX_AUTH_FAILURES", "10")),
        duration(env.getOrDefault("VMCTL_SSH_AUTH_FAILURE_WINDOW", "10m")),
        duration(env.getOrDefault("VMCTL_SSH_NEW_TIMEOUT", "5m")),
        Integer.parseInt(env.getOrDefault("VMCTL_HTTP_PORT", "8080")),
        bind,
        env.getOrDefault("VMCTL_HTTP_BIND_ADDRESS", bind),
        duration(env.getOrDefault("VMCTL_SSH_RECHECK_INTERVAL", "5s")),
        Integer.parseInt(env.getOrDefault("VMCTL_SSH_MAX_CHANNELS", "10")));
  }

  /** The same settings with another listening port (tests bind to port 0). */
  public SshGatewayConfig withPorts(int port, int publicPort) {
    return new SshGatewayConfig(
        port,
        namespace,
        hostKeyFile,
        proxyKeyFile,
        gatewayKeyFile,
        domain,
        publicHost,
        publicPort,
        guestUser,
        vmSshPort,
        idleTimeout,
        maxSessionsPerUser,
        maxAuthFailures,
        authFailureWindow,
        newTimeout,
        httpPort,
        bindAddress,
        httpBindAddress,
        recheckInterval,
        maxChannels);
  }

  private static Path path(String value) {
    return value == null || value.isBlank() ? null : Path.of(value);
  }

  private static Duration duration(String value) {
    return Duration.parse("PT" + value.toUpperCase(Locale.ROOT));
  }
}
