package dev.vmctl.https.acme;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/**
 * A real BIND ({@code named}, Debian package bind9) on a free loopback port, primary for one zone
 * that accepts TSIG-signed dynamic updates of TXT records under {@code _acme-challenge}. Missing
 * {@code named} fails the test (hack/test.sh installs bind9).
 */
final class BindServer implements AutoCloseable {
  static final String KEY_NAME = "vmctl-acme";
  final String zone;
  final int port;
  final String secret;
  private final Process named;

  BindServer(Path work, String zone) throws Exception {
    this.zone = zone;
    this.port = PebbleServer.freePort();
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    this.secret = Base64.getEncoder().encodeToString(key);
    Path named = Path.of("/usr/sbin/named");
    if (!Files.isExecutable(named)) {
      throw new IllegalStateException(
          "named not found: install the bind9 package (hack/test.sh does)");
    }
    Path dir = Files.createDirectories(work.resolve("bind"));
    Files.writeString(
        dir.resolve("zone.db"),
        """
        $TTL 60
        @   IN SOA ns.%1$s. admin.%1$s. 1 60 60 600 60
        @   IN NS  ns.%1$s.
        ns  IN A   127.0.0.1
        """
            .formatted(zone));
    Files.writeString(
        dir.resolve("named.conf"),
        """
        options {
          directory "%1$s";
          pid-file "%1$s/named.pid";
          listen-on port %2$d { 127.0.0.1; };
          listen-on-v6 { none; };
          recursion no;
          dnssec-validation no;
          allow-transfer { none; };
        };
        controls { };
        key "%3$s" { algorithm hmac-sha256; secret "%4$s"; };
        zone "%5$s" {
          type primary;
          file "%1$s/zone.db";
          // least privilege: the key may only touch the TXT records at _acme-challenge.<zone>
          // (both *.<zone> and <zone> are validated there)
          update-policy { grant %3$s name _acme-challenge.%5$s. TXT; };
        };
        """
            .formatted(dir, port, KEY_NAME, secret, zone));
    this.named =
        new ProcessBuilder(named.toString(), "-g", "-c", dir.resolve("named.conf").toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("named.log").toFile())
            .start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (!this.named.isAlive() || Instant.now().isAfter(deadline)) {
          this.named.waitFor(1, TimeUnit.SECONDS); // let it finish logging why
          close();
          throw new IOException(
              "named did not start: " + Files.readString(dir.resolve("named.log")));
        }
        Thread.sleep(100);
      }
    }
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() throws InterruptedException {
    named.destroy();
    if (!named.waitFor(5, TimeUnit.SECONDS)) {
      named.destroyForcibly().waitFor();
    }
  }
}
