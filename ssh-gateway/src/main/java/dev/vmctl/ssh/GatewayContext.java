package dev.vmctl.ssh;

import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;

/** What commands and proxies need, built once per gateway. */
public record GatewayContext(
    SshGatewayConfig config,
    Directory directory,
    KubernetesClient gatewayClient,
    PersonClients people,
    SignedTokens tokens,
    GatewayMetrics metrics,
    Clock clock,
    java.util.concurrent.atomic.AtomicInteger boundPort) {

  public GatewayContext(
      SshGatewayConfig config,
      Directory directory,
      KubernetesClient gatewayClient,
      PersonClients people,
      SignedTokens tokens,
      GatewayMetrics metrics,
      Clock clock) {
    this(
        config,
        directory,
        gatewayClient,
        people,
        tokens,
        metrics,
        clock,
        new java.util.concurrent.atomic.AtomicInteger());
  }

  /** The port people connect to: VMCTL_SSH_PUBLIC_PORT, or the bound port when that is 0. */
  public int publicPort() {
    return config.publicPort() != 0 ? config.publicPort() : boundPort.get();
  }

  public VmLookup lookup() {
    return new VmLookup(directory);
  }

  /** {@code -p 2222 } when the public port is not 22, for the hints we print. */
  public String portOption() {
    return publicPort() == 22 ? "" : "-p " + publicPort() + " ";
  }

  /** {@code host[:port]} as ssh -J wants it. */
  public String jumpHost() {
    return publicPort() == 22 ? config.publicHost() : config.publicHost() + ":" + publicPort();
  }
}
