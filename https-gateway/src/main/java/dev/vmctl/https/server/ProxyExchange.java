package dev.vmctl.https.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * One request proxied to a VM, streamed both ways: the request body flows to the VM as it arrives
 * and the response flows back as the VM sends it. Backpressure: reading from one side pauses while
 * the other side's outbound buffer is full. Runs entirely on the client channel's event loop.
 */
final class ProxyExchange {
  private final GatewayHandler handler;
  private final ChannelHandlerContext client;
  private final HttpRequest request;
  private final String vmHost;
  private final boolean http1;
  private final boolean websocket;
  private final BackendPool pool;
  private final GatewayMetrics metrics;
  private final List<HttpContent> pending = new ArrayList<>();
  private Channel backend;
  private boolean requestComplete;
  private boolean responseStarted;
  private boolean responseKeepAlive;
  private boolean skippingInformational;
  private boolean upgraded;
  private boolean tunnelling;
  private boolean done;
  private int status;

  ProxyExchange(
      GatewayHandler handler,
      ChannelHandlerContext client,
      HttpRequest request,
      String vmHost,
      boolean http1,
      boolean websocket,
      BackendPool pool,
      GatewayMetrics metrics) {
    this.handler = handler;
    this.client = client;
    this.request = request;
    this.vmHost = vmHost;
    this.http1 = http1;
    this.websocket = websocket;
    this.pool = pool;
    this.metrics = metrics;
  }

  boolean requestComplete() {
    return requestComplete;
  }

  boolean upgraded() {
    return upgraded;
  }

  Channel backend() {
    return backend;
  }

  /** Backend connected: send the head and whatever body arrived meanwhile. */
  /**
   * @param flush false when called inside a client read (a pooled connection): the read's end or
   *     the request's last piece flushes, saving a syscall per request
   */
  void connected(Channel channel, boolean flush) {
    if (done) {
      pool.release(channel); // the client went away while we connected
      return;
    }
    backend = channel;
    channel.pipeline().get(BackendHandler.class).attach(this);
    channel.write(request);
    for (HttpContent content : pending) {
      channel.write(content);
    }
    pending.clear();
    if (flush || requestComplete) {
      channel.flush();
    }
    if (!requestComplete) {
      client.channel().config().setAutoRead(channel.isWritable());
    }
  }

  void connectFailed(Throwable cause) {
    if (done) {
      return;
    }
    metrics.backendError("connect");
    fail(HttpResponseStatus.BAD_GATEWAY, "The VM is not accepting connections on its web port.");
  }

  /** A piece of the request body from the client. */
  void fromClient(HttpContent content) {
    if (content instanceof LastHttpContent) {
      // Reading goes on: a pipelined request behind this one is queued, and the queue pauses
      // reading (GatewayHandler.channelRead). Pausing here cost two epoll_ctl calls per request.
      requestComplete = true;
    }
    if (backend == null) {
      pending.add(content);
      return;
    }
    if (content instanceof LastHttpContent) {
      backend.writeAndFlush(content);
      return;
    }
    backend.write(content); // flushed once per read burst (flushToBackend)
    if (!backend.isWritable()) {
      // Pause before flushing: the flush may make the backend writable again at once.
      client.channel().config().setAutoRead(false);
      backend.flush();
      if (backend.isWritable()) {
        client.channel().config().setAutoRead(true);
      }
    }
  }

  /** End of a read burst from the client: one flush (one syscall) for everything written. */
  void flushToBackend() {
    if (backend != null && !done) {
      backend.flush();
    }
  }

  /** Raw bytes after a WebSocket upgrade. */
  void tunnelFromClient(Object bytes) {
    backend.writeAndFlush(bytes);
    if (!backend.isWritable()) {
      client.channel().config().setAutoRead(false);
    }
  }

  void fromBackend(Object msg) {
    if (done) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (tunnelling) {
      client.write(msg);
      pauseBackendIfClientFull();
      return;
    }
    if (msg instanceof HttpResponse response) {
      if (response.status().codeClass() == HttpStatusClass.INFORMATIONAL
          && response.status().code() != 101) {
        skippingInformational = true; // 100 Continue was answered by the gateway already
        ReferenceCountUtil.release(msg);
        return;
      }
      startResponse(response);
    }
    if (msg instanceof HttpContent content) {
      if (skippingInformational) {
        skippingInformational = !(content instanceof LastHttpContent);
        content.release();
        return;
      }
      if (content instanceof LastHttpContent) {
        finish(client.writeAndFlush(content));
        return;
      }
      client.write(content);
      pauseBackendIfClientFull();
    }
  }

  private void startResponse(HttpResponse response) {
    responseStarted = true;
    status = response.status().code();
    upgraded = websocket && status == 101;
    responseKeepAlive = HttpUtil.isKeepAlive(response);
    dev.vmctl.https.proxy.ResponseHeaders.forClient(response.headers(), vmHost, upgraded);
    if (http1 && !upgraded) {
      if (!HttpUtil.isContentLengthSet(response)
          && !HttpUtil.isTransferEncodingChunked(response)
          && mayHaveBody(response)) {
        HttpUtil.setTransferEncodingChunked(response, true);
      }
      HttpUtil.setKeepAlive(response, handler.clientKeepAlive());
    }
    client.write(response);
  }

  private boolean mayHaveBody(HttpResponse response) {
    int code = response.status().code();
    return !HttpMethod.HEAD.equals(request.method()) && code != 204 && code != 304;
  }

  void flushToClient() {
    if (!done || tunnelling) {
      client.flush();
    }
  }

  private void pauseBackendIfClientFull() {
    if (!client.channel().isWritable()) {
      // Pause first: flushing may make the client writable again at once (HTTP/2 streams do),
      // and the writability event must not be overtaken by this pause.
      backend.config().setAutoRead(false);
      client.flush();
      if (client.channel().isWritable()) {
        backend.config().setAutoRead(true);
      }
    }
  }

  void clientWritabilityChanged(boolean writable) {
    if (backend != null && writable) {
      backend.config().setAutoRead(true);
    }
  }

  void backendWritabilityChanged(boolean writable) {
    if (tunnelling || !requestComplete) {
      client.channel().config().setAutoRead(writable);
    }
  }

  private void finish(ChannelFuture written) {
    if (upgraded) {
      tunnelling = true;
      backend.pipeline().remove(HttpClientCodec.class);
      handler.upgradedToTunnel(this);
      return;
    }
    done = true;
    backend.pipeline().get(BackendHandler.class).detach();
    if (responseKeepAlive && requestComplete) {
      pool.release(backend);
    } else {
      backend.close();
    }
    handler.exchangeFinished(status, "proxied", written);
  }

  /** The VM closed, reset or timed out. */
  void backendFailed(String reason) {
    if (done) {
      return;
    }
    if (upgraded) {
      done = true;
      client.close(); // the VM ended the WebSocket connection
      return;
    }
    metrics.backendError(reason);
    if (responseStarted) {
      done = true;
      client.flush();
      client.close(); // a truncated response must not look complete
      handler.exchangeFinished(status, "backend-" + reason, client.newSucceededFuture());
      return;
    }
    fail(
        reason.equals("timeout")
            ? HttpResponseStatus.GATEWAY_TIMEOUT
            : HttpResponseStatus.BAD_GATEWAY,
        reason.equals("timeout")
            ? "The VM did not answer in time."
            : "The VM closed the connection without answering.");
  }

  private void fail(HttpResponseStatus failure, String message) {
    done = true;
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    if (backend != null) {
      backend.pipeline().get(BackendHandler.class).detach();
      backend.close();
    }
    handler.answerFailure(failure, message, requestComplete);
  }

  /**
   * The client's body turned out malformed: the VM's connection is dropped without the body's end,
   * so the VM never takes the request as complete.
   *
   * @return whether the VM's response had started (then only closing the client is left)
   */
  boolean abortRequest() {
    done = true;
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    if (backend != null) {
      backend.pipeline().get(BackendHandler.class).detach();
      backend.close();
    }
    return responseStarted;
  }

  int status() {
    return status;
  }

  /** The client went away: drop the backend connection (its state is unknown). */
  void clientClosed() {
    if (done) {
      return;
    }
    done = true;
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    if (backend != null) {
      backend.pipeline().get(BackendHandler.class).detach();
      backend.close();
    }
  }

  void closeTunnel() {
    done = true;
    if (backend != null) {
      backend.close();
    }
    client.close().addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
  }
}
