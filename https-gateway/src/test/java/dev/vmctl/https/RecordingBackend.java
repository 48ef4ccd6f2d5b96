package dev.vmctl.https;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A web server standing in for a hostile tenant's victim VM that records, per connection, the exact
 * bytes the gateway sent it, whether a request arrived complete, and whether the connection ended.
 * It answers every complete request {@code 200 from-backend} and closes, so one backend connection
 * carries one request (the gateway does not pool a connection the VM closed).
 */
final class RecordingBackend implements AutoCloseable {
  /** One backend connection as the VM saw it. */
  static final class Connection {
    private final StringBuffer bytes = new StringBuffer();
    private volatile int complete;
    private volatile boolean closed;

    String bytes() {
      return bytes.toString();
    }

    int completeRequests() {
      return complete;
    }

    boolean closed() {
      return closed;
    }
  }

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final List<Connection> connections = new CopyOnWriteArrayList<>();
  private final Channel server;

  RecordingBackend() throws InterruptedException {
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    Connection c = new Connection();
                    connections.add(c);
                    ch.pipeline().addLast(new Recorder(c)).addLast(new HttpServerCodec());
                    ch.pipeline().addLast(new Answer(c));
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Where every connection stands now, for {@link #since}. */
  record Mark(List<Integer> lengths, List<Integer> complete) {}

  /** What the VM has received so far. */
  Mark mark() {
    List<Integer> lengths = new ArrayList<>();
    List<Integer> complete = new ArrayList<>();
    for (Connection c : List.copyOf(connections)) {
      lengths.add(c.bytes.length());
      complete.add(c.complete);
    }
    return new Mark(lengths, complete);
  }

  /**
   * What each connection received after {@code mark}: new connections and, on connections that
   * existed (a connection the gateway opened and pooled unused, say), only the newer bytes.
   */
  List<Connection> since(Mark mark) {
    List<Connection> out = new ArrayList<>();
    List<Connection> all = List.copyOf(connections);
    for (int i = 0; i < all.size(); i++) {
      Connection c = all.get(i);
      if (i >= mark.lengths().size()) {
        out.add(c);
        continue;
      }
      Connection after = new Connection();
      after.bytes.append(c.bytes.substring(mark.lengths().get(i)));
      after.complete = c.complete - mark.complete().get(i);
      after.closed = c.closed;
      if (after.bytes.length() > 0) {
        out.add(after);
      }
    }
    return out;
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private static final class Recorder extends ChannelInboundHandlerAdapter {
    private final Connection connection;

    Recorder(Connection connection) {
      this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      connection.bytes.append(((ByteBuf) msg).toString(StandardCharsets.ISO_8859_1));
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      connection.closed = true;
      ctx.fireChannelInactive();
    }
  }

  private static final class Answer extends ChannelInboundHandlerAdapter {
    private final Connection connection;

    Answer(Connection connection) {
      this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (((HttpObject) msg).decoderResult().isFailure()) {
          ctx.close(); // what the gateway sent does not parse: never answer it
          return;
        }
        if (msg instanceof HttpContent && msg instanceof LastHttpContent) {
          connection.complete++;
          FullHttpResponse response =
              new DefaultFullHttpResponse(
                  HttpVersion.HTTP_1_1,
                  HttpResponseStatus.OK,
                  Unpooled.copiedBuffer("from-backend\n", StandardCharsets.UTF_8));
          HttpUtil.setContentLength(response, response.content().readableBytes());
          response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
          ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
