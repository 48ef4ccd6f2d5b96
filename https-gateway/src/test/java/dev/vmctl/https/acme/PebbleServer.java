package dev.vmctl.https.acme;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A real Pebble ACME server and pebble-challtestsrv (its DNS: every A query answers 127.0.0.1, TXT
 * records set through its management API), on free loopback ports. Binaries from {@code
 * VMCTL_PEBBLE} or the cache {@code hack/pebble.sh} fills; missing binaries fail the test.
 */
final class PebbleServer implements AutoCloseable {
  final int acmePort = freePort();
  final int dnsPort = freePort();
  final int challtestPort = freePort();
  private final List<Process> processes = new ArrayList<>();

  /** {@code httpPort}: where Pebble's validator fetches HTTP-01 answers. */
  PebbleServer(Path work, int httpPort) throws Exception {
    this(work, httpPort, null);
  }

  /** {@code dnsServer}: where Pebble resolves names ({@code host:port}); null for challtestsrv. */
  PebbleServer(Path work, int httpPort, String dnsServer) throws Exception {
    Path bin = binaries();
    Path config = work.resolve("pebble-config.json");
    Files.writeString(
        config,
        """
        {"pebble": {
          "listenAddress": "127.0.0.1:%d",
          "managementListenAddress": "127.0.0.1:%d",
          "certificate": "%s",
          "privateKey": "%s",
          "httpPort": %d, "tlsPort": %d,
          "ocspResponderURL": "", "externalAccountBindingRequired": false,
          "retryAfter": {"authz": 1, "order": 1},
          "profiles": {"default": {"description": "test", "validityPeriod": 7776000}}
        }}
        """
            .formatted(
                acmePort,
                freePort(),
                bin.resolve("certs/localhost/cert.pem"),
                bin.resolve("certs/localhost/key.pem"),
                httpPort,
                freePort()));
    start(
        work.resolve("challtestsrv.log"),
        List.of(
            bin.resolve("pebble-challtestsrv").toString(),
            "-dnsserver",
            "127.0.0.1:" + dnsPort,
            "-management",
            "127.0.0.1:" + challtestPort,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-doh",
            "",
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            ""));
    awaitPort(challtestPort);
    start(
        work.resolve("pebble.log"),
        List.of(
            bin.resolve("pebble").toString(),
            "-config",
            config.toString(),
            "-dnsserver",
            dnsServer != null ? dnsServer : "127.0.0.1:" + dnsPort));
    awaitPort(acmePort);
  }

  /** acme4j's Pebble provider trusts Pebble's test CA for this URI. */
  URI directory() {
    return URI.create("acme://pebble/localhost:" + acmePort);
  }

  String dnsResolver() {
    return "127.0.0.1:" + dnsPort;
  }

  /** challtestsrv's management API: {@code /set-txt}, {@code /clear-txt}. */
  void challtest(String path, String json) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + challtestPort + path))
                    .POST(HttpRequest.BodyPublishers.ofString(json))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("challtestsrv " + path + " answered " + r.statusCode());
    }
  }

  private void start(Path log, List<String> command) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.environment().put("PEBBLE_VA_NOSLEEP", "1");
    pb.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
    pb.environment().put("PEBBLE_AUTHZREUSE", "0"); // every order validates: failures are real
    processes.add(pb.start());
  }

  private static Path binaries() {
    String env = System.getenv("VMCTL_PEBBLE");
    Path dir =
        env != null && !env.isBlank()
            ? Path.of(env)
            : Path.of(System.getProperty("user.home"), ".cache/vmctl/pebble/v2.10.1");
    if (!Files.isExecutable(dir.resolve("pebble"))
        || !Files.isExecutable(dir.resolve("pebble-challtestsrv"))) {
      throw new IllegalStateException(
          "Pebble binaries not found in " + dir + ": run hack/pebble.sh and set VMCTL_PEBBLE");
    }
    return dir;
  }

  private static void awaitPort(int port) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (Instant.now().isAfter(deadline)) {
          throw new IOException("nothing listening on 127.0.0.1:" + port + " after 20 s");
        }
        Thread.sleep(100);
      }
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : processes) {
      p.destroy();
      if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
      }
    }
  }
}
