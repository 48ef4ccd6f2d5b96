package dev.vmctl.https.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive connections to VMs, pooled per event loop so that a client connection and its backend
 * connection share one thread (no locking, no hand-over between threads).
 */
public final class BackendPool {
  static final AttributeKey<InetSocketAddress> TARGET = AttributeKey.valueOf("vmctl.target");
  private static final int MAX_IDLE_PER_TARGET = 64;

  private final Limits limits;
  private final Map<EventLoop, Map<InetSocketAddress, ArrayDeque<Channel>>> idle =
      new ConcurrentHashMap<>();

  public BackendPool(Limits limits) {
    this.limits = limits;
  }

  /**
   * An idle pooled connection to {@code target}, or a new one. {@code fresh} always connects anew
   * (WebSocket upgrades take their connection out of HTTP use for good).
   */
  public Future<Channel> acquire(EventLoop loop, InetSocketAddress target, boolean fresh) {
    Promise<Channel> promise = loop.newPromise();
    if (!fresh) {
      ArrayDeque<Channel> channels = idleFor(loop, target);
      Channel channel;
      while ((channel = channels.pollFirst()) != null) {
        if (channel.isActive()) {
          return promise.setSuccess(channel);
        }
      }
    }
    new Bootstrap()
        .group(loop)
        .channel(Transport.clientChannel())
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) limits.connect().toMillis())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, true)
        .attr(TARGET, target)
        .handler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                    .addLast("http", new HttpClientCodec(8192, limits.maxHeaderBytes(), 16384))
                    .addLast(
                        "idle",
                        new IdleStateHandler(
                            0, 0, limits.backendIdle().toMillis(), TimeUnit.MILLISECONDS))
                    .addLast("backend", new BackendHandler());
              }
            })
        .connect(target)
        .addListener(
            f -> {
              if (f.isSuccess()) {
                promise.setSuccess(((io.netty.channel.ChannelFuture) f).channel());
              } else {
                promise.setFailure(f.cause());
              }
            });
    return promise;
  }

  /** Returns a connection whose last exchange completed cleanly; called on its event loop. */
  public void release(Channel channel) {
    ArrayDeque<Channel> channels = idleFor(channel.eventLoop(), channel.attr(TARGET).get());
    if (channel.isActive() && channels.size() < MAX_IDLE_PER_TARGET) {
      channels.addFirst(channel); // most recently used first: warm connections, old ones idle out
    } else {
      channel.close();
    }
  }

  private ArrayDeque<Channel> idleFor(EventLoop loop, InetSocketAddress target) {
    return idle.computeIfAbsent(loop, l -> new HashMap<>())
        .computeIfAbsent(target, t -> new ArrayDeque<>());
  }
}
