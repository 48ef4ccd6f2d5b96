package dev.vmctl.https;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/** {@code /metrics} (Prometheus), {@code /healthz} and {@code /readyz} on the metrics port. */
public final class MetricsServer implements AutoCloseable {
  private final HttpServer server;

  /** Listens on {@code bindAddress} (an IP literal; {@code 0.0.0.0} for all) and {@code port}. */
  public MetricsServer(
      String bindAddress, int port, PrometheusMeterRegistry registry, BooleanSupplier ready)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(bindAddress, port), 16);
    server.createContext("/metrics", ex -> reply(ex, 200, registry.scrape()));
    server.createContext("/healthz", ex -> reply(ex, 200, "ok\n"));
    server.createContext(
        "/readyz",
        ex ->
            reply(
                ex,
                ready.getAsBoolean() ? 200 : 503,
                ready.getAsBoolean() ? "ready\n" : "starting\n"));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  private static void reply(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
