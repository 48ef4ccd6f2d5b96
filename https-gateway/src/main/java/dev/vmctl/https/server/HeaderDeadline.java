package dev.vmctl.https.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client connection that has not sent a complete request head within the header timeout
 * (slowloris: a client dribbling header bytes keeps the idle timeout from ever firing).
 *
 * <p>First in the pipeline, so it sees raw socket bytes. The clock starts when the connection opens
 * (the TLS handshake counts) and again at the first byte after a request body has ended; it stops
 * when the codec has produced a request head. An idle keep-alive connection between requests is the
 * idle timeout's business, not this one's. All calls run on the connection's event loop.
 */
final class HeaderDeadline extends ChannelInboundHandlerAdapter {
  private final long timeoutNanos;
  private final GatewayMetrics metrics;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private boolean awaitingHead = true;

  /** {@code timeoutNanos} 0: never closes. */
  HeaderDeadline(long timeoutNanos, GatewayMetrics metrics) {
    this.timeoutNanos = timeoutNanos;
    this.metrics = metrics;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    arm();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && timer == null) {
      arm(); // the first byte of the next request
    }
    ctx.fireChannelRead(msg);
  }

  /** The codec produced a request head (HTTP/1.1, or an HTTP/2 stream's first request). */
  void headReceived() {
    awaitingHead = false;
    cancel();
  }

  /** A request body ended: the next bytes start the next head (HTTP/1.1 keep-alive). */
  void awaitNextHead() {
    awaitingHead = true;
  }

  /** The connection is a raw tunnel now (WebSocket): no more heads. */
  void stop() {
    awaitingHead = false;
    cancel();
  }

  private void arm() {
    if (timeoutNanos > 0 && timer == null && ctx.channel().isActive()) {
      timer = ctx.executor().schedule(this::expired, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void expired() {
    timer = null;
    if (awaitingHead && ctx.channel().isActive()) {
      metrics.rejectedConnection("header-timeout");
      ctx.channel().close();
    }
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }
}
