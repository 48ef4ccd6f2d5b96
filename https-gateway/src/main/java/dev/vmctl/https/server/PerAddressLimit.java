package dev.vmctl.https.server;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Caps the open client connections per source address (both listeners together). A connection over
 * the cap is closed at once, before TLS, and is never seen by the handlers after this one (neither
 * active nor inactive), so the connection gauge stays right.
 */
@Sharable
final class PerAddressLimit extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("vmctl.counted");
  private static final AttributeKey<Boolean> REJECTED = AttributeKey.valueOf("vmctl.rejected");

  private final int max;
  private final GatewayMetrics metrics;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();

  /** {@code max} 0: no cap. */
  PerAddressLimit(int max, GatewayMetrics metrics) {
    this.max = max;
    this.metrics = metrics;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (max > 0 && ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
      InetAddress address = remote.getAddress();
      if (open.merge(address, 1, Integer::sum) > max) {
        release(address);
        ctx.channel().attr(REJECTED).set(Boolean.TRUE);
        metrics.rejectedConnection("per-address-limit");
        ctx.channel().close();
        return;
      }
      ctx.channel().attr(COUNTED).set(address);
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (ctx.channel().hasAttr(REJECTED)) {
      return; // the handlers after this one never saw it open
    }
    InetAddress address = ctx.channel().attr(COUNTED).getAndSet(null);
    if (address != null) {
      release(address);
    }
    ctx.fireChannelInactive();
  }

  private void release(InetAddress address) {
    open.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
  }

  /** Open connections from {@code address} (for tests and debugging). */
  int open(InetAddress address) {
    return open.getOrDefault(address, 0);
  }
}
