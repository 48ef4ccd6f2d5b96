package dev.vmctl.https.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client connection that has not sent a complete request head within the header timeout
 * (slowloris: a client dribbling header bytes keeps the idle timeout from ever firing).
 *
 * <p>At the front of the pipeline (before TLS), so it sees raw socket bytes. The clock starts when
 * the connection opens (the TLS handshake counts) and again at the first byte after a request body
 * has ended; it stops when the codec has produced a request head. An idle keep-alive connection
 * between requests is the idle timeout's business, not this one's. All calls run on the
 * connection's event loop.
 */
final class HeaderDeadline extends ChannelInboundHandlerAdapter {
  private final long timeoutNanos;
  private final GatewayMetrics metrics;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private boolean awaitingHead = true;
  private long headStarted; // System.nanoTime() of the current head's first byte; 0: none yet

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
    startHead();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && headStarted == 0) {
      startHead(); // the first byte of the next request
    }
    ctx.fireChannelRead(msg);
  }

  /** The codec produced a request head (HTTP/1.1, or an HTTP/2 stream's request). */
  void headReceived() {
    awaitingHead = false;
    headStarted = 0;
  }

  /** A request body ended: the next bytes start the next head (HTTP/1.1 keep-alive). */
  void awaitNextHead() {
    awaitingHead = true;
  }

  /** The connection is a raw tunnel now (WebSocket): no more heads. */
  void stop() {
    headReceived();
  }

  /**
   * Notes when the head began. A timer runs only while a head is pending and is not rescheduled per
   * request: a busy keep-alive connection costs one clock read per request, not a timer.
   */
  private void startHead() {
    if (timeoutNanos == 0) {
      return;
    }
    headStarted = System.nanoTime();
    if (timer == null && ctx.channel().isActive()) {
      timer = ctx.executor().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void check() {
    timer = null;
    if (!awaitingHead || headStarted == 0 || !ctx.channel().isActive()) {
      return; // no head pending: the next one starts a timer again
    }
    long left = headStarted + timeoutNanos - System.nanoTime();
    if (left > 0) {
      timer = ctx.executor().schedule(this::check, left, TimeUnit.NANOSECONDS);
      return;
    }
    metrics.rejectedConnection("header-timeout");
    ctx.channel().close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    ctx.fireChannelInactive();
  }
}
