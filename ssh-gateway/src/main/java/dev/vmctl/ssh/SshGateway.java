package dev.vmctl.ssh;

import java.io.IOException;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.subsystem.SubsystemFactory;

/**
 * The SSH server: public-key authentication, the gateway's commands, and both ways into VMs. A
 * session whose login name is a VM the person may reach is bridged to that VM (username routing);
 * any other login name gets the gateway itself.
 */
public final class SshGateway implements AutoCloseable {
  private final SshServer server;
  private final SshClient client;
  private final VmSessions vmSessions;
  private final ExecutorService threads;
  private final Revocations revocations;

  private SshGateway(
      SshServer server,
      SshClient client,
      VmSessions vmSessions,
      ExecutorService threads,
      Revocations revocations) {
    this.server = server;
    this.client = client;
    this.vmSessions = vmSessions;
    this.threads = threads;
    this.revocations = revocations;
  }

  public static SshGateway start(GatewayContext context, KeyPair hostKey, KeyPair proxyKey)
      throws IOException {
    SshGatewayConfig config = context.config();
    ExecutorService threads = Executors.newCachedThreadPool(named("vmctl-ssh-session-"));
    SshClient client = SshClient.setUpDefaultClient();
    // Each VM's host key is in its status (made by its node daemon): checked per connection.
    client.setServerKeyVerifier(new VmHostKeyCheck());
    Throughput.apply(client, Throughput.TO_VMS);
    client.start();

    SshServer server = SshServer.setUpDefaultServer();
    server.setHost(config.bindAddress());
    server.setPort(config.port());
    server.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
    Throughput.apply(server, Throughput.FROM_PEOPLE);
    FailureLimiter limiter =
        new FailureLimiter(config.maxAuthFailures(), config.authFailureWindow(), context.clock());
    KeyAuthenticator authenticator =
        new KeyAuthenticator(
            context.directory(), limiter, context.metrics(), config.maxSessionsPerUser());
    server.setPublickeyAuthenticator(authenticator);
    server.setPasswordAuthenticator(null);
    server.setKeyboardInteractiveAuthenticator(null);
    server.setGSSAuthenticator(null);
    server.addSessionListener(authenticator);
    CoreModuleProperties.IDLE_TIMEOUT.set(server, config.idleTimeout());
    CoreModuleProperties.AUTH_TIMEOUT.set(server, Duration.ofSeconds(30));
    CoreModuleProperties.MAX_AUTH_REQUESTS.set(server, 6);
    CoreModuleProperties.SERVER_IDENTIFICATION.set(server, "vmctl");

    Commands commands = new Commands(context);
    Revocations revocations =
        new Revocations(context.directory(), server::getActiveSessions, context.clock());
    VmSessions vmSessions =
        new VmSessions(client, proxyKey, config.guestUser(), Duration.ofSeconds(10));
    Router router = new Router(context, commands, vmSessions, threads, revocations);
    server.setShellFactory(channel -> router.command(channel, VmBridge.Mode.SHELL, null));
    server.setCommandFactory((channel, line) -> router.command(channel, VmBridge.Mode.EXEC, line));
    server.setSubsystemFactories(List.of(new SftpBridgeFactory(router)));
    ChannelCap cap = new ChannelCap(config.maxChannels());
    server.setChannelFactories(
        List.of(cap.sessions(), new VmTunnelFactory(context, revocations, cap)));
    server.setForwardingFilter(new DirectOnly());
    server.start();
    revocations.start(config.recheckInterval());
    context.boundPort().set(server.getPort());
    return new SshGateway(server, client, vmSessions, threads, revocations);
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() throws IOException {
    revocations.close();
    server.stop(true);
    vmSessions.close();
    client.stop();
    threads.shutdownNow();
  }

  /** Chooses, per session, between the gateway's commands and a bridge to a VM. */
  record Router(
      GatewayContext context,
      Commands commands,
      VmSessions vmSessions,
      ExecutorService threads,
      Revocations revocations) {
    Command command(ChannelSession channel, VmBridge.Mode mode, String argument) {
      ServerSession session = channel.getServerSession();
      Person person = session.getAttribute(Person.KEY);
      if (routesToVm(session.getUsername(), person)) {
        return new VmBridge(context, vmSessions, threads, mode, argument, revocations);
      }
      String login = session.getUsername();
      if (login != null && VmTarget.underDomain(login, context.config().domain())) {
        // web.vm.example.com@gw asks for a VM and nothing else: never the gateway's shell.
        return new GatewayShell(
            commands, context.directory(), threads, Commands.NOT_YOURS, revocations);
      }
      if (mode == VmBridge.Mode.SUBSYSTEM) {
        return new GatewayShell(
            commands, context.directory(), threads, "sftp-is-for-vms", revocations);
      }
      return new GatewayShell(commands, context.directory(), threads, argument, revocations);
    }

    /** Whether the login name is a VM this person may reach (else: the gateway itself). */
    boolean routesToVm(String username, Person person) {
      return person != null
          && person.registered()
          && context
              .directory()
              .user(person.userName())
              .flatMap(
                  u ->
                      context
                          .lookup()
                          .find(
                              u,
                              VmTarget.vmName(username, context.config().domain()),
                              context.clock().instant()))
              .isPresent();
    }
  }

  /** sftp (and so scp) for {@code vm@gw} sessions. */
  private record SftpBridgeFactory(Router router) implements SubsystemFactory {
    @Override
    public String getName() {
      return "sftp";
    }

    @Override
    public Command createSubsystem(ChannelSession channel) {
      return router.command(channel, VmBridge.Mode.SUBSYSTEM, "sftp");
    }
  }

  /**
   * Only direct-tcpip (ProxyJump) is allowed, and {@link VmTunnelFactory} has already rewritten its
   * target to an authorised VM; no remote forwarding, agent or X11 forwarding.
   */
  private static final class DirectOnly extends AcceptAllForwardingFilter {
    @Override
    public boolean canForwardAgent(Session session, String requestType) {
      return false;
    }

    @Override
    public boolean canForwardX11(Session session, String requestType) {
      return false;
    }

    @Override
    public boolean canListen(SshdSocketAddress address, Session session) {
      return false;
    }

    @Override
    public boolean canConnect(
        TcpForwardingFilter.Type type, SshdSocketAddress address, Session session) {
      return type == TcpForwardingFilter.Type.Direct && session.isAuthenticated();
    }
  }

  static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
