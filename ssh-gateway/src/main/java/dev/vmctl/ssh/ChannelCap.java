package dev.vmctl.ssh;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.ChannelSession;

/**
 * At most {@code max} open channels (sessions and tunnels) per connection, as OpenSSH's {@code
 * MaxSessions}: one more is refused with "resource shortage" and the connection goes on. (MINA's
 * own limit ends the whole connection instead.) Each channel costs the gateway a thread, so without
 * this one connection could open thousands.
 */
final class ChannelCap {
  private static final AttributeKey<AtomicInteger> OPEN = new AttributeKey<>();
  private final int max;

  ChannelCap(int max) {
    this.max = max;
  }

  /**
   * Counts {@code channel} against its connection's cap when it opens; null when it may open, else
   * the refusal to return from {@code doInit}.
   */
  OpenFuture admit(Channel channel, Object lock) {
    Session session = channel.getSession();
    AtomicInteger open = session.computeAttributeIfAbsent(OPEN, k -> new AtomicInteger());
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      DefaultOpenFuture refused = new DefaultOpenFuture(channel, lock);
      refused.setException(
          new SshChannelOpenException(
              channel.getChannelId(),
              SshConstants.SSH_OPEN_RESOURCE_SHORTAGE,
              "at most " + max + " channels per connection"));
      return refused;
    }
    channel.addCloseFutureListener(f -> open.decrementAndGet());
    return null;
  }

  /** Session channels (shell, exec, subsystem) under the cap. */
  ChannelFactory sessions() {
    return new ChannelFactory() {
      @Override
      public String getName() {
        return "session";
      }

      @Override
      public Channel createChannel(Session session) {
        return new ChannelSession() {
          @Override
          protected OpenFuture doInit(Buffer buffer) {
            OpenFuture refused = admit(this, futureLock);
            return refused != null ? refused : super.doInit(buffer);
          }
        };
      }
    };
  }
}
