package dev.vmctl.node.guest;

import java.io.IOException;
import java.util.List;

/**
 * The calls the node daemon makes to a guest's agent, each bounded by the connection's deadline.
 * {@link VsockGuestAgents} speaks the agent protocol over the hypervisor's hybrid-vsock socket.
 */
public interface GuestAgent extends AutoCloseable {
  record Hello(String bootId, String agentVersion, String os, String kernel, String hostname) {}

  /** Refused by the guest (as opposed to not reached): the guest said why. */
  final class Refused extends IOException {
    public Refused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  Hello hello() throws IOException;

  void configureNetwork(String cidr, String gateway, String mac) throws IOException;

  void setHostname(String hostname) throws IOException;

  void setAuthorizedKeys(String user, List<String> keys) throws IOException;

  List<Integer> listeningPorts() throws IOException;

  /** Asks the guest to power off; returns once the agent took the request. */
  void shutdown() throws IOException;

  @Override
  void close() throws IOException;
}
