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
    Clock clock) {

  public VmLookup lookup() {
    return new VmLookup(directory);
  }

  /** {@code -p 2222 } when the public port is not 22, for the hints we print. */
  public String portOption() {
    return config.publicPort() == 22 ? "" : "-p " + config.publicPort() + " ";
  }

  /** {@code host[:port]} as ssh -J wants it. */
  public String jumpHost() {
    return config.publicPort() == 22
        ? config.publicHost()
        : config.publicHost() + ":" + config.publicPort();
  }
}
