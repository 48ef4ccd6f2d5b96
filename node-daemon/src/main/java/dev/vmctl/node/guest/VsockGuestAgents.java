package dev.vmctl.node.guest;

import dev.vmctl.agent.client.AgentClient;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/** Guest agents over the hybrid-vsock socket of cloud-hypervisor or vhost-device-vsock. */
public final class VsockGuestAgents implements GuestAgents {
  @Override
  public GuestAgent connect(VmPlan plan, Duration timeout) throws IOException {
    AgentClient client =
        AgentClient.connectHybridVsock(plan.vsockSocket(), AgentClient.AGENT_PORT, timeout);
    return new Connected(client, timeout);
  }

  private record Connected(AgentClient client, Duration timeout) implements GuestAgent {
    @Override
    public Hello hello() throws IOException {
      AgentClient.Hello h = client.hello(timeout);
      return new Hello(h.bootId(), h.agentVersion(), h.os(), h.kernel(), h.hostname());
    }

    @Override
    public void configureNetwork(String cidr, String gateway, String mac) throws IOException {
      refusedAsRefused(() -> client.configureNetwork(cidr, gateway, List.of(), 1500, mac));
    }

    @Override
    public void setHostname(String hostname) throws IOException {
      refusedAsRefused(() -> client.setHostname(hostname));
    }

    @Override
    public void setAuthorizedKeys(String user, List<String> keys) throws IOException {
      refusedAsRefused(() -> client.setAuthorizedKeys(user, keys));
    }

    @Override
    public List<Integer> listeningPorts() throws IOException {
      return client.ports();
    }

    @Override
    public void shutdown() throws IOException {
      client.shutdown();
    }

    @Override
    public void close() throws IOException {
      client.close();
    }

    private interface Call {
      void run() throws IOException;
    }

    private static void refusedAsRefused(Call call) throws IOException {
      try {
        call.run();
      } catch (AgentClient.AgentError e) {
        throw new Refused(e.getMessage(), e);
      }
    }
  }
}
