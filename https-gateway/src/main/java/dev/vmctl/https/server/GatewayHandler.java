package dev.vmctl.https.server;

import dev.vmctl.gateway.Access;
import dev.vmctl.https.Domain;
import dev.vmctl.https.access.Visitor;
import dev.vmctl.https.proxy.RequestHeaders;
import dev.vmctl.https.proxy.RequestTarget;
import dev.vmctl.https.routing.Route;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Serves one HTTP/1.1 connection or one HTTP/2 stream: the gateway's own pages locally, everything
 * else through a {@link ProxyExchange} to the VM the Host names, after the access check.
 */
final class GatewayHandler extends ChannelDuplexHandler {
  private final Gateway gateway;
  private final boolean http1;
  private final HeaderDeadline deadline;
  private final ArrayDeque<Object> queued = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private ProxyExchange exchange;
  private boolean tunnel;
  private boolean discarding;
  private boolean keepAlive;
  private boolean closing;
  private long started;
  private String method = "-";
  private String host = "-";
  private String uri = "-";

  /**
   * @param deadline the connection's header deadline (for HTTP/2, shared by its streams)
   */
  GatewayHandler(Gateway gateway, boolean http1, HeaderDeadline deadline) {
    this.gateway = gateway;
    this.http1 = http1;
    this.deadline = deadline;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  boolean clientKeepAlive() {
    return keepAlive;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (tunnel) {
      exchange.tunnelFromClient(msg);
      return;
    }
    if (msg instanceof HttpRequest) {
      deadline.headReceived();
    }
    if (http1 && msg instanceof LastHttpContent) {
      deadline.awaitNextHead();
    }
    if (exchange != null && exchange.requestComplete() || !queued.isEmpty()) {
      // A pipelined request waits for the current response to finish; reading pauses until
      // then, so the queue holds at most what the current read burst decoded.
      queued.add(msg);
      ctx.channel().config().setAutoRead(false);
      return;
    }
    dispatch(msg);
  }

  private void dispatch(Object msg) {
    if (msg instanceof HttpRequest request) {
      try {
        onRequest(request);
      } finally {
        ReferenceCountUtil.release(msg);
      }
      return;
    }
    if (msg instanceof HttpContent content) {
      if (content.decoderResult().isFailure()) {
        content.release();
        malformedBody(); // bad chunk size, chunk longer than announced, bare LF...
        return;
      }
      if (content instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
        // Trailers never reach a VM: nothing in them is checked like headers (X-VmCtl-*, ...).
        last.trailingHeaders().clear();
      }
      if (exchange != null) {
        exchange.fromClient(content);
      } else {
        if (discarding && content instanceof LastHttpContent) {
          discarding = false;
        }
        content.release();
      }
    }
  }

  /**
   * A body the decoder could not frame: the VM must never see it end (it would look complete), so
   * its connection is dropped; the client gets 400 if nothing was answered yet, and is closed.
   */
  private void malformedBody() {
    keepAlive = false;
    ProxyExchange ex = exchange;
    if (ex == null) {
      if (!closing) {
        closing = true; // answered locally already (e.g. 403) while the body was discarded
        ctx.channel().close();
      }
      return;
    }
    exchange = null;
    if (ex.abortRequest()) {
      finished(ex.status(), "malformed-body");
      closing = true;
      ctx.channel().close(); // the VM's answer had started: a cut response must not look whole
      return;
    }
    ctx.channel().config().setAutoRead(true);
    answer(HttpResponseStatus.BAD_REQUEST, "Malformed request body");
  }

  private void onRequest(HttpRequest request) {
    started = System.nanoTime();
    method = request.method().name();
    uri = request.uri();
    host = "-";
    keepAlive = HttpUtil.isKeepAlive(request);
    DecoderResult result = request.decoderResult();
    if (result.isFailure()) {
      keepAlive = false;
      Throwable cause = result.cause();
      if (cause instanceof TooLongHttpHeaderException) {
        answer(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Request header too large");
      } else if (cause instanceof TooLongHttpLineException
          || cause instanceof TooLongFrameException) {
        answer(HttpResponseStatus.REQUEST_URI_TOO_LONG, "Request line too long");
      } else {
        answer(HttpResponseStatus.BAD_REQUEST, "Malformed request");
      }
      return;
    }
    if (http1 && request.protocolVersion().majorVersion() != 1) {
      keepAlive = false;
      answer(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP version not supported");
      return;
    }
    if (request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        && request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      keepAlive = false; // request smuggling attempt: refuse and drop the connection
      answer(HttpResponseStatus.BAD_REQUEST, "Both Content-Length and Transfer-Encoding");
      return;
    }
    if (!RequestHeaders.onlyChunked(request.headers())) {
      keepAlive = false; // a coding the gateway cannot frame: the body's end is unknown
      answer(HttpResponseStatus.NOT_IMPLEMENTED, "Transfer-Encoding other than chunked");
      return;
    }
    if (HttpMethod.CONNECT.equals(request.method())) {
      keepAlive = false;
      answer(HttpResponseStatus.METHOD_NOT_ALLOWED, "This gateway is not a forward proxy");
      return;
    }
    List<String> hosts = request.headers().getAll(HttpHeaderNames.HOST);
    String normalised = hosts.size() == 1 ? Domain.hostOf(hosts.get(0)) : null;
    if (normalised == null) {
      keepAlive = false;
      answer(HttpResponseStatus.BAD_REQUEST, "Missing or malformed Host header");
      return;
    }
    host = normalised;
    String target = RequestTarget.normalise(uri, method, host);
    if (target == null) {
      keepAlive = false;
      answer(HttpResponseStatus.BAD_REQUEST, "Malformed request target");
      return;
    }
    uri = target; // routed, logged and forwarded in this one form
    discarding = !(request instanceof LastHttpContent);
    Domain domain = gateway.domain();
    if (!domain.covers(host)) {
      answer(
          HttpResponseStatus.NOT_FOUND, "Not found", "This gateway does not serve " + host + ".");
      return;
    }
    List<String> cookies = request.headers().getAll(HttpHeaderNames.COOKIE);
    if (uri.startsWith(ControlPages.PREFIX)) {
      send(gateway.control().control(ctx.alloc(), host, uri, cookies));
      return;
    }
    Visitor visitor = gateway.sessions().visitor(cookies);
    if (domain.isBare(host)) {
      send(gateway.control().landing(ctx.alloc(), visitor));
      return;
    }
    String name = domain.vmName(host).orElse(null);
    Route route = name == null ? new Route.Unknown(host) : gateway.routes().forVm(name);
    if (route instanceof Route.Unknown) {
      answer(HttpResponseStatus.NOT_FOUND, "No such VM", "No VM is called " + host + ".");
      return;
    }
    var vm = route instanceof Route.Backend b ? b.vm() : ((Route.Unavailable) route).vm();
    Access.Via via = gateway.access().decide(vm, visitor);
    if (!via.granted()) {
      answer(
          HttpResponseStatus.FORBIDDEN,
          "Private VM",
          visitor.signedIn()
              ? "This VM is not shared with " + visitor.email() + "."
              : "This VM is private. Run '"
                  + gateway.control().loginCommand()
                  + "' and open the link to sign in.");
      return;
    }
    if (route instanceof Route.Unavailable unavailable) {
      answer(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "VM not running",
          "The VM " + name + " " + unavailable.reason() + ".");
      return;
    }
    proxy(request, (Route.Backend) route, visitor);
  }

  private void proxy(HttpRequest request, Route.Backend route, Visitor visitor) {
    discarding = false;
    boolean websocket = http1 && RequestHeaders.isWebSocketUpgrade(request.headers());
    RequestHeaders.forBackend(request.headers(), visitor, clientIp(), hostHeader(), websocket);
    HttpRequest head =
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), uri, request.headers());
    ProxyExchange ex =
        new ProxyExchange(
            this, ctx, head, host, http1, websocket, gateway.pool(), gateway.metrics());
    exchange = ex;
    if (request instanceof FullHttpRequest full) {
      if (full.content().isReadable() && !HttpUtil.isContentLengthSet(head)) {
        HttpUtil.setContentLength(head, full.content().readableBytes());
      }
      ex.fromClient(new DefaultLastHttpContent(full.content().retain()));
    } else if (request instanceof LastHttpContent) {
      ex.fromClient(LastHttpContent.EMPTY_LAST_CONTENT);
    } else {
      // HTTP/1.1 bodies are framed by Content-Length or chunked; without either there is none.
      // An HTTP/2 stream still open may carry a body of unknown length: that needs chunked.
      if (!http1 && !HttpUtil.isContentLengthSet(head)) {
        HttpUtil.setTransferEncodingChunked(head, true);
      }
    }
    InetSocketAddress target = new InetSocketAddress(route.address(), route.port());
    var connecting = gateway.pool().acquire(ctx.channel().eventLoop(), target, websocket);
    if (connecting.isSuccess()) {
      ex.connected(connecting.getNow(), false); // a pooled connection, still inside this read
      return;
    }
    if (!ex.requestComplete()) {
      ctx.channel().config().setAutoRead(false); // the body waits until the VM is connected
    }
    connecting.addListener(
        f -> {
          if (f.isSuccess()) {
            ex.connected(connecting.getNow(), true);
          } else {
            ex.connectFailed(f.cause());
          }
        });
  }

  /** The Host as the VM should see it: the original header, port included. */
  private String hostHeader() {
    return host + gateway.domain().portSuffix();
  }

  private String clientIp() {
    SocketAddress remote =
        ctx.channel() instanceof Http2StreamChannel s
            ? s.parent().remoteAddress()
            : ctx.channel().remoteAddress();
    return remote instanceof InetSocketAddress inet
        ? inet.getAddress().getHostAddress()
        : String.valueOf(remote);
  }

  private void answer(HttpResponseStatus status, String title) {
    answer(status, title, title + ".");
  }

  private void answer(HttpResponseStatus status, String title, String message) {
    send(Pages.page(ctx.alloc(), status, title, message));
  }

  private void send(FullHttpResponse response) {
    int status = response.status().code();
    if (http1) {
      HttpUtil.setKeepAlive(response, keepAlive);
    }
    var future = ctx.writeAndFlush(response);
    if (!keepAlive) {
      closing = true;
      future.addListener(ChannelFutureListener.CLOSE);
    }
    finished(status, "local");
  }

  /** The exchange could not get a response from the VM: answer for it. */
  void answerFailure(HttpResponseStatus status, String message, boolean requestComplete) {
    exchange = null;
    if (!requestComplete) {
      keepAlive = false; // the rest of the body would be read as a new request
    }
    ctx.channel().config().setAutoRead(true);
    answer(status, "VM unreachable", message);
    drainQueued();
  }

  void exchangeFinished(int status, String outcome, ChannelFuture written) {
    exchange = null;
    finished(status, outcome);
    if (!keepAlive) {
      closing = true;
      written.addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.channel().config().setAutoRead(true);
    drainQueued();
  }

  /** The VM accepted the WebSocket upgrade: from now on both sides are raw bytes. */
  void upgradedToTunnel(ProxyExchange ex) {
    tunnel = true;
    deadline.stop();
    finished(101, "upgraded");
    ctx.pipeline().remove(HttpServerExpectContinueHandler.class);
    ctx.pipeline().remove(HttpServerCodec.class);
    ctx.channel().config().setAutoRead(true);
  }

  private void drainQueued() {
    while (!queued.isEmpty() && (exchange == null || !exchange.requestComplete())) {
      dispatch(queued.poll());
    }
    if (exchange != null) {
      exchange.flushToBackend(); // no read burst ends after a drain: flush here
    }
  }

  private void finished(int status, String outcome) {
    long nanos = System.nanoTime() - started;
    gateway.metrics().request(status, outcome, nanos);
    if (AccessLog.enabled()) {
      AccessLog.log(clientIp(), http1 ? "h1" : "h2", method, host, uri, status, nanos);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.flushToBackend();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.clientWritabilityChanged(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && exchange == null) {
      ctx.close(); // an idle keep-alive connection
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.clientClosed();
      exchange = null;
    }
    queued.forEach(ReferenceCountUtil::release);
    queued.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // TLS or transport failure of this client: nothing to answer
  }
}
