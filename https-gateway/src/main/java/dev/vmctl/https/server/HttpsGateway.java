package dev.vmctl.https.server;

import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.https.Domain;
import dev.vmctl.https.access.Sessions;
import dev.vmctl.https.access.UsedNonces;
import dev.vmctl.https.access.WebAccess;
import dev.vmctl.https.routing.Routes;
import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.https.tls.SniContexts;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * The two listeners (TLS and plain HTTP) over one set of event loops, each on its configured
 * address. Both share the per-address connection cap.
 */
public final class HttpsGateway implements AutoCloseable {
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel https;
  private final Channel http;

  private HttpsGateway(EventLoopGroup boss, EventLoopGroup workers, Channel https, Channel http) {
    this.boss = boss;
    this.workers = workers;
    this.https = https;
    this.http = http;
  }

  /**
   * What the gateway serves with.
   *
   * @param bindAddress the TLS listener's address
   * @param httpBindAddress the plain-HTTP listener's address
   * @param sshGateway the SSH gateway as {@code ssh -J} takes it, for the pages that tell people
   *     which command to run
   */
  public record Setup(
      Domain domain,
      String bindAddress,
      int httpsPort,
      String httpBindAddress,
      int httpPort,
      Limits limits,
      int threads,
      String sshGateway) {}

  public static HttpsGateway start(
      Setup setup,
      Directory directory,
      SignedTokens tokens,
      CertificateStore certificates,
      Http01Challenges challenges,
      MeterRegistry registry,
      Clock clock)
      throws InterruptedException {
    GatewayMetrics metrics = new GatewayMetrics(registry);
    Sessions sessions =
        new Sessions(tokens, directory, new UsedNonces(clock), new UsedNonces(clock));
    WebAccess access = new WebAccess(directory, clock);
    Gateway gateway =
        new Gateway(
            setup.domain(),
            new Routes(directory),
            sessions,
            access,
            new ControlPages(
                setup.domain(),
                sessions,
                access,
                directory,
                clock,
                SshCommand.of(setup.sshGateway(), "login")),
            new BackendPool(setup.limits()),
            metrics,
            setup.limits());
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, Transport.ioHandler());
    EventLoopGroup workers =
        new MultiThreadIoEventLoopGroup(setup.threads(), Transport.ioHandler());
    PerAddressLimit perAddress =
        new PerAddressLimit(setup.limits().maxConnectionsPerAddress(), metrics);
    try {
      Channel https =
          bootstrap(
                  boss,
                  workers,
                  new TlsPipeline(
                      gateway, new SniContexts(certificates, setup.domain().host()), perAddress))
              .bind(setup.bindAddress(), setup.httpsPort())
              .sync()
              .channel();
      Channel http =
          bootstrap(boss, workers, plain(setup, challenges, metrics, perAddress))
              .bind(setup.httpBindAddress(), setup.httpPort())
              .sync()
              .channel();
      return new HttpsGateway(boss, workers, https, http);
    } catch (RuntimeException | InterruptedException e) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  private static ServerBootstrap bootstrap(
      EventLoopGroup boss, EventLoopGroup workers, ChannelInitializer<SocketChannel> pipeline) {
    return new ServerBootstrap()
        .group(boss, workers)
        .channel(Transport.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(pipeline);
  }

  private static ChannelInitializer<SocketChannel> plain(
      Setup setup,
      Http01Challenges challenges,
      GatewayMetrics metrics,
      PerAddressLimit perAddress) {
    ConnectionCounter counter = new ConnectionCounter(metrics);
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        HeaderDeadline deadline = new HeaderDeadline(setup.limits().header().toNanos(), metrics);
        ch.pipeline()
            .addLast(perAddress)
            .addLast(deadline)
            .addLast(counter)
            .addLast(
                new IdleStateHandler(0, 0, setup.limits().idle().toMillis(), TimeUnit.MILLISECONDS))
            .addLast(TlsPipeline.http1Codec(setup.limits()))
            .addLast(new HttpObjectAggregator(8192)) // redirects and challenges carry no body
            .addLast(new PlainHttpHandler(setup.domain(), challenges, metrics, deadline));
      }
    };
  }

  /** The socket transport in use (epoll or nio), for logs and benchmarks. */
  public static String transport() {
    return Transport.name();
  }

  public int httpsPort() {
    return ((InetSocketAddress) https.localAddress()).getPort();
  }

  public int httpPort() {
    return ((InetSocketAddress) http.localAddress()).getPort();
  }

  /** The TLS listener's bound address (as configured, port resolved). */
  public InetSocketAddress httpsAddress() {
    return (InetSocketAddress) https.localAddress();
  }

  /** The plain-HTTP listener's bound address. */
  public InetSocketAddress httpAddress() {
    return (InetSocketAddress) http.localAddress();
  }

  @Override
  public void close() {
    https.close().syncUninterruptibly();
    http.close().syncUninterruptibly();
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
