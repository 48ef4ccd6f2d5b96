package dev.vmctl.https.server;

import dev.vmctl.https.tls.SniContexts;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/** A TLS client connection: SNI picks the certificate, ALPN picks HTTP/2 or HTTP/1.1. */
final class TlsPipeline extends ChannelInitializer<SocketChannel> {
  private final Gateway gateway;
  private final SniContexts contexts;
  private final ConnectionCounter counter;
  private final PerAddressLimit perAddress;

  TlsPipeline(Gateway gateway, SniContexts contexts, PerAddressLimit perAddress) {
    this.gateway = gateway;
    this.contexts = contexts;
    this.counter = new ConnectionCounter(gateway.metrics());
    this.perAddress = perAddress;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    Limits limits = gateway.limits();
    HeaderDeadline deadline = new HeaderDeadline(limits.header().toNanos(), gateway.metrics());
    ch.pipeline()
        .addLast(perAddress)
        .addLast(deadline)
        .addLast(counter)
        .addLast(
            "idle", new IdleStateHandler(0, 0, limits.idle().toMillis(), TimeUnit.MILLISECONDS))
        .addLast(new SniHandler(contexts, 16384, 10_000))
        .addLast(new Negotiation(gateway, deadline));
  }

  static HttpServerCodec http1Codec(Limits limits) {
    return new HttpServerCodec(
        new HttpDecoderConfig()
            .setMaxInitialLineLength(limits.maxInitialLine())
            .setMaxHeaderSize(limits.maxHeaderBytes())
            .setMaxChunkSize(16384)
            .setUseRfc9112TransferEncoding(true));
  }

  /** Installs the HTTP/1.1 or HTTP/2 handlers once the handshake has chosen. */
  private static final class Negotiation extends ApplicationProtocolNegotiationHandler {
    private final Gateway gateway;
    private final HeaderDeadline deadline;

    Negotiation(Gateway gateway, HeaderDeadline deadline) {
      super(ApplicationProtocolNames.HTTP_1_1);
      this.gateway = gateway;
      this.deadline = deadline;
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        ctx.pipeline()
            .addLast(
                Http2FrameCodecBuilder.forServer()
                    .initialSettings(
                        Http2Settings.defaultSettings()
                            .maxConcurrentStreams(256)
                            .maxHeaderListSize(gateway.limits().maxHeaderBytes()))
                    .build())
            .addLast(
                new Http2MultiplexHandler(
                    new ChannelInitializer<Http2StreamChannel>() {
                      @Override
                      protected void initChannel(Http2StreamChannel stream) {
                        stream
                            .pipeline()
                            .addLast(new Http2StreamFrameToHttpObjectCodec(true))
                            .addLast(new HttpServerExpectContinueHandler())
                            .addLast(new GatewayHandler(gateway, false, deadline));
                      }
                    }))
            .addLast(new IdleCloser());
      } else {
        ctx.pipeline()
            .addLast(http1Codec(gateway.limits()))
            .addLast(new HttpServerExpectContinueHandler())
            .addLast(new GatewayHandler(gateway, true, deadline));
      }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // bad client hello, no shared cipher: nothing to log per connection
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // garbage before or during the handshake: drop it quietly
    }
  }

  /** Closes an HTTP/2 connection that saw no traffic for the idle timeout. */
  private static final class IdleCloser extends io.netty.channel.ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent) {
        ctx.close();
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }
  }
}
