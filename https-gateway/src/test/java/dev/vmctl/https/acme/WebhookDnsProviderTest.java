package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The webhook DNS provider against a real loopback HTTP server: protocol, errors, timeouts. */
class WebhookDnsProviderTest {
  private HttpServer server;
  private final List<String> received = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/ok",
        exchange -> {
          received.add(
              exchange.getRequestMethod()
                  + " "
                  + exchange.getRequestHeaders().getFirst("Authorization")
                  + " "
                  + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    server.createContext(
        "/broken",
        exchange -> {
          byte[] body = ("zone not found " + "x".repeat(500)).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(500, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.createContext(
        "/slow",
        exchange -> {
          try {
            Thread.sleep(3000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  @Test
  void postsPresentAndCleanupAsJsonWithTheBearerToken() throws Exception {
    WebhookDnsProvider dns =
        new WebhookDnsProvider(url("/ok"), Optional.of("t0k"), Duration.ofSeconds(5));
    dns.present("_acme-challenge.vm.example.com.", "abc");
    dns.cleanUp("_acme-challenge.vm.example.com.", "abc");
    assertThat(received).hasSize(2);
    assertThat(received.get(0))
        .startsWith("POST Bearer t0k {")
        .contains("\"action\":\"present\"", "\"fqdn\":\"_acme-challenge.vm.example.com.\"")
        .contains("\"value\":\"abc\"");
    assertThat(received.get(1)).contains("\"action\":\"cleanup\"");
  }

  @Test
  void withoutATokenSendsNoAuthorization() throws Exception {
    new WebhookDnsProvider(url("/ok"), Optional.of(" "), Duration.ofSeconds(5)).present("a.", "v");
    assertThat(received.get(0)).startsWith("POST null ");
  }

  @Test
  void errorsNameTheStatusAndAShortBodyButNeverTheToken() {
    WebhookDnsProvider dns =
        new WebhookDnsProvider(url("/broken"), Optional.of("s3cret"), Duration.ofSeconds(5));
    assertThatThrownBy(() -> dns.present("_acme-challenge.a.", "v"))
        .isInstanceOf(DnsProviderException.class)
        .hasMessageContaining("answered 500 to present _acme-challenge.a.: zone not found")
        .hasMessageNotContaining("s3cret")
        .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(400));
  }

  @Test
  void slowAndUnreachableWebhooksFailWithinTheTimeout() throws Exception {
    long start = System.nanoTime();
    assertThatThrownBy(
            () ->
                new WebhookDnsProvider(url("/slow"), Optional.empty(), Duration.ofMillis(500))
                    .present("a.", "v"))
        .isInstanceOf(DnsProviderException.class)
        .hasMessageContaining("unreachable or timed out");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2500));
    int closedPort = PebbleServer.freePort();
    assertThatThrownBy(
            () ->
                new WebhookDnsProvider(
                        URI.create("http://127.0.0.1:" + closedPort + "/"),
                        Optional.empty(),
                        Duration.ofSeconds(1))
                    .present("a.", "v"))
        .isInstanceOf(DnsProviderException.class)
        .hasMessageContaining("unreachable or timed out");
    assertThatThrownBy(
            () ->
                new WebhookDnsProvider(
                    URI.create("ftp://x/"), Optional.empty(), Duration.ofSeconds(1)))
        .hasMessageContaining("must be http(s)");
  }
}
