package dev.vmctl.https.server;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** Keeps the active-connections gauge right; first in every client pipeline. */
@Sharable
final class ConnectionCounter extends ChannelInboundHandlerAdapter {
  private final GatewayMetrics metrics;

  ConnectionCounter(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    metrics.connectionOpened();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    metrics.connectionClosed();
    ctx.fireChannelInactive();
  }
}
