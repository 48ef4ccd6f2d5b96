package dev.vmctl.https;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real web server standing in for a VM (HTTP/1.1 keep-alive, streamed bodies, a WebSocket echo).
 * Paths: {@code /} and {@code /headers} dump the request headers; {@code /download?bytes=N} streams
 * N bytes; {@code POST /upload} streams the body through SHA-256; {@code /setcookie} sets good and
 * forbidden cookies; {@code /ws} echoes WebSocket text frames.
 */
public final class TestBackend implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final AtomicInteger connections = new AtomicInteger();
  final java.util.List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Channel server;
  private final String name;

  public TestBackend(String name) throws InterruptedException {
    this.name = name;
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    int id = connections.incrementAndGet();
                    ch.pipeline().addLast(new HttpServerCodec()).addLast(new App(id));
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  int connections() {
    return connections.get();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class App extends ChannelInboundHandlerAdapter {
    private final int connection;
    private HttpRequest request;
    private MessageDigest upload;
    private long uploaded;

    App(int connection) {
      this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (msg instanceof HttpRequest r) {
        request = r;
        paths.add(r.uri());
        String path = new QueryStringDecoder(r.uri()).path();
        if (path.equals("/ws")) {
          WebSocketServerHandshaker hs =
              new WebSocketServerHandshakerFactory(
                      "ws://" + r.headers().get("host") + "/ws", null, false)
                  .newHandshaker(r);
          ctx.pipeline().replace(this, "ws", new Echo());
          hs.handshake(ctx.channel(), r);
          return;
        }
        if (path.equals("/upload")) {
          upload = MessageDigest.getInstance("SHA-256");
          uploaded = 0;
        }
      }
      if (msg instanceof HttpContent content) {
        if (upload != null) {
          ByteBuf buf = content.content();
          upload.update(buf.nioBuffer());
          uploaded += buf.readableBytes();
        }
        content.release();
        if (content instanceof LastHttpContent) {
          respond(ctx);
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // clients resetting connections (wrk at the end of a run) are normal here
    }

    private void respond(ChannelHandlerContext ctx) {
      QueryStringDecoder q = new QueryStringDecoder(request.uri());
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      if (q.path().equals("/download")) {
        long bytes = Long.parseLong(q.parameters().get("bytes").get(0));
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        HttpUtil.setContentLength(head, bytes);
        ctx.writeAndFlush(head);
        stream(ctx, bytes, keepAlive);
        return;
      }
      String body;
      FullHttpResponse response;
      if (q.path().equals("/small")) {
        body = "small response from the backend for benchmarks.\n";
      } else if (q.path().equals("/upload")) {
        body = "bytes=" + uploaded + " sha256=" + HexFormat.of().formatHex(upload.digest()) + "\n";
        upload = null;
      } else {
        StringBuilder sb =
            new StringBuilder("backend " + name + " connection " + connection + "\n");
        for (Map.Entry<String, String> h : request.headers()) {
          sb.append(h.getKey().toLowerCase()).append(": ").append(h.getValue()).append('\n');
        }
        body = sb.toString();
      }
      response =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.OK,
              Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      HttpUtil.setContentLength(response, response.content().readableBytes());
      if (q.path().equals("/setcookie")) {
        response.headers().add(HttpHeaderNames.SET_COOKIE, "app=1; Path=/");
        response.headers().add(HttpHeaderNames.SET_COOKIE, "vmctl_session=stolen; Path=/");
        response.headers().add(HttpHeaderNames.SET_COOKIE, "toss=1; Domain=vm.localhost");
        response
            .headers()
            .add(
                HttpHeaderNames.SET_COOKIE,
                "own=1; Domain=" + request.headers().get("host").replaceAll(":.*", ""));
      }
      HttpUtil.setKeepAlive(response, keepAlive);
      ChannelFuture f = ctx.writeAndFlush(response);
      if (!keepAlive) {
        f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
      }
    }

    /** Writes the body in 64 KiB chunks, waiting for each write: honours backpressure. */
    private void stream(ChannelHandlerContext ctx, long remaining, boolean keepAlive) {
      if (remaining == 0) {
        ChannelFuture f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!keepAlive) {
          f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        }
        return;
      }
      int n = (int) Math.min(65536, remaining);
      ByteBuf chunk = ctx.alloc().buffer(n);
      for (int i = 0; i < n; i++) {
        chunk.writeByte('a' + (int) ((remaining - i) % 26));
      }
      ctx.writeAndFlush(new DefaultHttpContent(chunk))
          .addListener(
              f -> {
                if (f.isSuccess()) {
                  stream(ctx, remaining - n, keepAlive);
                }
              });
    }
  }

  private static final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
      if (frame instanceof TextWebSocketFrame text) {
        ctx.writeAndFlush(new TextWebSocketFrame("echo: " + text.text()));
      } else {
        ctx.close();
      }
    }
  }
}
