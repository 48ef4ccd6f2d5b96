package dev.vmctl.node.hypervisor;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Netty client channels to Unix sockets for the hypervisor drivers: epoll where the native
 * transport loads (linux-x86_64), otherwise NIO's {@link UnixDomainSocketAddress} support. One
 * daemon event-loop thread serves every connection.
 */
final class UnixSockets {
  private static final boolean EPOLL = Epoll.isAvailable();
  private static final EventLoopGroup LOOP =
      new MultiThreadIoEventLoopGroup(
          1,
          new DefaultThreadFactory("vmm-sockets", true),
          EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());

  private UnixSockets() {}

  /** "epoll" or "nio": the transport in use. */
  static String transport() {
    return EPOLL ? "epoll" : "nio";
  }

  /**
   * Connects within {@code timeout}.
   *
   * @throws ConnectException when there is no socket or nothing listens on it (refused)
   * @throws SocketTimeoutException when the connect did not complete in time
   * @throws IOException when connecting failed otherwise (e.g. a full backlog): a listener exists
   */
  static Channel connect(Path socket, Duration timeout, ChannelHandler initializer)
      throws IOException {
    if (!Files.exists(socket)) {
      throw new ConnectException("no socket at " + socket);
    }
    int millis = (int) Math.max(1, timeout.toMillis());
    SocketAddress address =
        EPOLL ? new DomainSocketAddress(socket.toFile()) : UnixDomainSocketAddress.of(socket);
    Bootstrap bootstrap =
        new Bootstrap()
            .group(LOOP)
            .channel(EPOLL ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, millis)
            // A failed write (the server answered and closed, as micro-http does when full) must
            // not close the channel before the answer already received is read.
            .option(ChannelOption.AUTO_CLOSE, false)
            .handler(initializer);
    ChannelFuture connect = bootstrap.connect(address);
    try {
      if (!connect.await(millis + 1000L, TimeUnit.MILLISECONDS)) {
        connect.channel().close();
        throw new SocketTimeoutException("connect to " + socket + " timed out");
      }
    } catch (InterruptedException e) {
      connect.channel().close();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("connect to " + socket + " interrupted");
    }
    if (!connect.isSuccess()) {
      Throwable cause = connect.cause();
      if (cause instanceof io.netty.channel.ConnectTimeoutException) {
        throw new SocketTimeoutException("connect to " + socket + " timed out");
      }
      String why = String.valueOf(cause.getMessage());
      if (why.toLowerCase(java.util.Locale.ROOT).contains("refused")
          || why.toLowerCase(java.util.Locale.ROOT).contains("no such file")) {
        // ECONNREFUSED / ENOENT: nothing listens there (a stale socket of a dead process).
        ConnectException refused = new ConnectException("cannot connect to " + socket + ": " + why);
        refused.initCause(cause);
        throw refused;
      }
      // Anything else, e.g. EAGAIN when the listener's backlog is full because its process stopped
      // accepting: something is there, so this must not read as "nothing listens".
      throw new IOException("cannot connect to " + socket + ": " + why, cause);
    }
    return connect.channel();
  }
}
