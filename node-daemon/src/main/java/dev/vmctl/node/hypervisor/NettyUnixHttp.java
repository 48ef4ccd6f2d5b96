package dev.vmctl.node.hypervisor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link UnixHttp} on Netty: {@link HttpClientCodec} and {@link HttpObjectAggregator} over a
 * domain-socket channel from {@link UnixSockets} (epoll, or NIO where the native transport cannot
 * load). The codec frames responses as RFC 9110 says: a 204 ends at its headers, whether or not the
 * server sends Content-Length, so a keep-alive server that never closes is fine. One request at a
 * time per connection; all connections share one event-loop thread.
 */
final class NettyUnixHttp implements UnixHttp {
  private static final int MAX_RESPONSE = 16 << 20;

  private final Path socket;
  private final Duration connectTimeout;
  private Channel channel; // guarded by this
  private Exchange exchange; // guarded by this: the response handler of channel

  private record Connection(Channel channel, Exchange exchange) {}

  /** The connection closed with no response to the request: the server never answered it. */
  static final class ClosedBeforeResponse extends IOException {
    ClosedBeforeResponse(String message) {
      super(message);
    }
  }

  NettyUnixHttp(Path socket, Duration connectTimeout) {
    this.socket = socket;
    this.connectTimeout = connectTimeout;
  }

  @Override
  public synchronized Response request(
      String method, String path, String jsonBody, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long connectNanos = Math.min(connectTimeout.toNanos(), timeout.toNanos());
    boolean reused = channel != null && channel.isActive();
    Connection c = connected(connectNanos);
    try {
      return exchange(c, method, path, jsonBody, deadline, timeout);
    } catch (ClosedBeforeResponse e) {
      if (!reused) {
        throw e;
      }
      // The server closed the kept-alive connection before reading this request (it exited, or
      // was replaced): nothing was processed, so send it once more on a new connection.
      return exchange(connected(connectNanos), method, path, jsonBody, deadline, timeout);
    }
  }

  private Response exchange(
      Connection c, String method, String path, String jsonBody, long deadline, Duration timeout)
      throws IOException {
    CompletableFuture<Response> reply = c.exchange().expect();
    c.channel().writeAndFlush(httpRequest(method, path, jsonBody));
    try {
      Response r = reply.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (!c.channel().isActive()) {
        drop(c.channel());
      }
      return r;
    } catch (TimeoutException e) {
      drop(c.channel());
      throw new SocketTimeoutException(
          method
              + " "
              + path
              + " on "
              + socket
              + ": no answer within "
              + timeout.toMillis()
              + " ms");
    } catch (InterruptedException e) {
      drop(c.channel());
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(method + " " + path + " interrupted");
    } catch (ExecutionException e) {
      drop(c.channel());
      if (e.getCause() instanceof ClosedBeforeResponse closed) {
        throw closed;
      }
      throw new IOException(
          method + " " + path + " on " + socket + ": " + e.getCause().getMessage(), e.getCause());
    }
  }

  @Override
  public synchronized void close() {
    if (channel != null) {
      drop(channel);
    }
  }

  private void drop(Channel ch) {
    ch.close();
    if (channel == ch) {
      channel = null;
    }
  }

  private Connection connected(long timeoutNanos) throws IOException {
    if (channel != null && channel.isActive()) {
      return new Connection(channel, exchange);
    }
    channel = null;
    Exchange handler = new Exchange();
    Channel connected =
        UnixSockets.connect(
            socket,
            Duration.ofNanos(timeoutNanos),
            new ChannelInitializer<>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(new HttpClientCodec())
                    .addLast(new HttpObjectAggregator(MAX_RESPONSE))
                    .addLast(handler);
              }
            });
    channel = connected;
    exchange = handler;
    return new Connection(channel, handler);
  }

  private static FullHttpRequest httpRequest(String method, String path, String jsonBody) {
    ByteBuf content =
        jsonBody == null
            ? Unpooled.EMPTY_BUFFER
            : Unpooled.copiedBuffer(jsonBody, StandardCharsets.UTF_8);
    FullHttpRequest r =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), path, content);
    r.headers().set(HttpHeaderNames.HOST, "localhost");
    r.headers().set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON);
    if (jsonBody != null) {
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    }
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
    return r;
  }

  /**
   * Hands the next response to the waiting call. A response that arrives before any request (the
   * 503 micro-http writes on accepting one connection too many) is kept for the next call.
   */
  private static final class Exchange extends SimpleChannelInboundHandler<FullHttpResponse> {
    private CompletableFuture<Response> pending; // guarded by this
    private Response early; // guarded by this
    private boolean closed; // guarded by this

    synchronized CompletableFuture<Response> expect() {
      CompletableFuture<Response> f = new CompletableFuture<>();
      if (early != null) {
        f.complete(early);
        early = null;
      } else if (closed) {
        f.completeExceptionally(new ClosedBeforeResponse("connection closed before a response"));
      } else {
        pending = f;
      }
      return f;
    }

    @Override
    protected synchronized void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
      Response r =
          new Response(msg.status().code(), msg.content().toString(StandardCharsets.UTF_8));
      if (pending != null) {
        pending.complete(r);
        pending = null;
      } else {
        early = r;
      }
    }

    @Override
    public synchronized void channelInactive(ChannelHandlerContext ctx) {
      closed = true;
      if (pending != null) {
        pending.completeExceptionally(
            new ClosedBeforeResponse("connection closed before a response"));
        pending = null;
      }
    }

    @Override
    public synchronized void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closed = true;
      if (pending != null) {
        // A reset (ECONNRESET: the server process died) is a close before the response too;
        // anything else (a malformed response) is not.
        pending.completeExceptionally(
            cause instanceof IOException
                ? (IOException)
                    new ClosedBeforeResponse(
                            "connection broke before a response: " + cause.getMessage())
                        .initCause(cause)
                : cause);
        pending = null;
      }
      ctx.close();
    }
  }
}
