package dev.vmctl.ssh;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/** {@code /metrics} (Prometheus text) and {@code /healthz} for the probes. */
final class MetricsServer implements AutoCloseable {
  private final HttpServer server;
  private final java.util.concurrent.ExecutorService executor =
      Executors.newSingleThreadExecutor(SshGateway.named("vmctl-ssh-http-"));

  MetricsServer(String bindAddress, int port, PrometheusMeterRegistry registry) throws IOException {
    server = HttpServer.create(new InetSocketAddress(bindAddress, port), 16);
    server.createContext("/metrics", ex -> reply(ex, registry.scrape()));
    server.createContext("/healthz", ex -> reply(ex, "ok\n"));
    server.setExecutor(executor);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static void reply(HttpExchange exchange, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
