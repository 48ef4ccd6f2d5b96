package dev.vmctl.ssh;

import java.io.IOException;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.threads.ThreadUtils;
import org.apache.sshd.server.forward.DirectTcpipFactory;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.TcpipServerChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ProxyJump ({@code ssh -J gw vm}): a {@code direct-tcpip} channel whose target is a VM name. The
 * gateway authorises the person for that VM, then connects to the VM's address on its SSH port; any
 * other target (a host, another port) is refused, so the gateway is no open relay.
 */
final class VmTunnelFactory extends DirectTcpipFactory {
  private static final Logger LOG = LoggerFactory.getLogger(VmTunnelFactory.class);
  private final GatewayContext context;
  private final Revocations revocations;
  private final ChannelCap cap;

  VmTunnelFactory(GatewayContext context, Revocations revocations, ChannelCap cap) {
    this.context = context;
    this.revocations = revocations;
    this.cap = cap;
  }

  @Override
  public Channel createChannel(Session session) throws IOException {
    return new VmTunnel(ThreadUtils.noClose(getExecutorService()));
  }

  private final class VmTunnel extends TcpipServerChannel {
    VmTunnel(org.apache.sshd.common.util.threads.CloseableExecutorService executor) {
      super(TcpForwardingFilter.Type.Direct, executor);
    }

    @Override
    protected OpenFuture doInit(Buffer buffer) {
      String host = buffer.getString();
      int port = buffer.getInt();
      String originHost = buffer.getString();
      int originPort = buffer.getInt();
      Person person = getSession().getAttribute(Person.KEY);
      VmTarget.Decision decision =
          VmTarget.decide(context, person, host, context.clock().instant());
      String refusal = decision.refusal();
      // MINA sends only the reason code, not our text; OpenSSH prints the code's name. A VM that
      // exists but is not running says "connect failed"; no access and no such VM look the same.
      int reason =
          decision.notRunning()
              ? SshConstants.SSH_OPEN_CONNECT_FAILED
              : SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED;
      if (refusal == null && port != 22 && port != context.config().vmSshPort()) {
        refusal = "only SSH (port 22) is forwarded to VMs";
      }
      if (refusal != null) {
        LOG.info(
            "proxyjump refused user={} vm={} port={} reason={}",
            user(person),
            decision.vmName(),
            port,
            refusal);
        DefaultOpenFuture refused = new DefaultOpenFuture(host, futureLock);
        refused.setException(new SshChannelOpenException(getChannelId(), reason, refusal));
        return refused;
      }
      OpenFuture full = cap.admit(this, futureLock);
      if (full != null) {
        return full;
      }
      LOG.info("proxyjump user={} vm={}", user(person), decision.vmName());
      context.metrics().proxySession("jump");
      guard(person, decision.grant());
      Buffer rewritten = new ByteArrayBuffer();
      rewritten.putString(decision.address());
      rewritten.putInt(context.config().vmSshPort());
      rewritten.putString(originHost);
      rewritten.putInt(originPort);
      return super.doInit(rewritten);
    }

    /** Ends the tunnel when the grant goes (Share revoked, VM deleted, person withdrawn). */
    private void guard(Person person, Authorisation.VmGrant grant) {
      Runnable unguard =
          revocations.guard(
              getSession(),
              new Revocations.Guarded() {
                @Override
                public String withdrawn(java.time.Instant now) {
                  return grant.withdrawn(context.directory(), person, now);
                }

                @Override
                public void end(String reason) {
                  close(true);
                }

                @Override
                public boolean talks() {
                  return false;
                }
              });
      addCloseFutureListener(f -> unguard.run());
    }

    @Override
    protected void doWriteData(byte[] data, int off, long len) throws IOException {
      context.metrics().proxied("jump", "to-vm", len);
      super.doWriteData(data, off, len);
    }
  }

  private static String user(Person person) {
    return person == null ? null : person.userName();
  }
}
