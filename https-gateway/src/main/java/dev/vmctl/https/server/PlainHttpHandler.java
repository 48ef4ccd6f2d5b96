package dev.vmctl.https.server;

import dev.vmctl.https.Domain;
import dev.vmctl.https.tls.Http01Challenges;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.Optional;

/**
 * The plain-HTTP listener: answers ACME HTTP-01 challenges and redirects everything else to https
 * on the same host. It never proxies.
 */
final class PlainHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  static final String CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

  private final Domain domain;
  private final Http01Challenges challenges;
  private final GatewayMetrics metrics;
  private final HeaderDeadline deadline;

  PlainHttpHandler(
      Domain domain, Http01Challenges challenges, GatewayMetrics metrics, HeaderDeadline deadline) {
    this.domain = domain;
    this.challenges = challenges;
    this.metrics = metrics;
    this.deadline = deadline;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    long started = System.nanoTime();
    deadline.headReceived(); // aggregated: head and (small) body are both in
    deadline.awaitNextHead();
    boolean keepAlive = HttpUtil.isKeepAlive(request) && request.decoderResult().isSuccess();
    FullHttpResponse response = respond(ctx, request);
    HttpUtil.setKeepAlive(response, keepAlive);
    int status = response.status().code();
    var written = ctx.writeAndFlush(response);
    if (!keepAlive) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
    metrics.request(status, "plain", System.nanoTime() - started);
  }

  private FullHttpResponse respond(ChannelHandlerContext ctx, FullHttpRequest request) {
    if (request.decoderResult().isFailure()) {
      return Pages.text(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, "malformed request\n");
    }
    String uri = request.uri();
    if (uri.startsWith(CHALLENGE_PREFIX)) {
      Optional<String> answer =
          challenges.keyAuthorization(uri.substring(CHALLENGE_PREFIX.length()));
      return answer
          .map(a -> Pages.text(ctx.alloc(), HttpResponseStatus.OK, a))
          .orElseGet(
              () -> Pages.text(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "no such challenge\n"));
    }
    String host = Domain.hostOf(request.headers().get(HttpHeaderNames.HOST));
    if (host == null || !domain.covers(host) || !uri.startsWith("/")) {
      return Pages.text(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, "unknown host\n");
    }
    FullHttpResponse redirect =
        Pages.redirect(ctx.alloc(), "https://" + host + domain.portSuffix() + uri);
    redirect.setStatus(HttpResponseStatus.MOVED_PERMANENTLY);
    return redirect;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      ctx.close();
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
