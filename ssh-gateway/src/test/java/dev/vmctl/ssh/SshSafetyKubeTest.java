package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Safety limits with real clients: garbage and truncated SSH traffic neither crash the gateway nor
 * leak threads; failed authentications are rate-limited per source; sessions per person are capped;
 * idle sessions are closed.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class SshSafetyKubeTest {

  @Test
  void garbageAndTruncatedTrafficNeverCrashesOrLeaksThreads(KubeEnv env) throws Exception {
    try (GatewayHarness gw = new GatewayHarness(env, Map.of())) {
      String suffix = UUID.randomUUID().toString().substring(0, 6);
      Path key = gw.register("saf-" + suffix, "saf-" + suffix + "@example.com");
      assertThat(gw.ssh(key, "whoami").exit()).isZero();
      int baseline = liveThreads();
      Random random = new Random(42);
      for (int i = 0; i < 60; i++) {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress("127.0.0.1", gw.port()), 2000);
          socket.setSoTimeout(2000);
          OutputStream out = socket.getOutputStream();
          switch (i % 6) {
            case 0 -> out.write(randomBytes(random, 4096)); // no banner at all
            case 1 ->
                out.write("SSH-2.0-evil\r\n".getBytes(StandardCharsets.US_ASCII)); // then gone
            case 2 -> { // banner, then a packet claiming to be 2 GB long
              out.write("SSH-2.0-evil\r\n".getBytes(StandardCharsets.US_ASCII));
              out.write(ByteBuffer.allocate(8).putInt(Integer.MAX_VALUE).putInt(0).array());
            }
            case 3 -> { // banner, then random binary "packets"
              out.write("SSH-2.0-evil\r\n".getBytes(StandardCharsets.US_ASCII));
              out.write(randomBytes(random, 1 + random.nextInt(65536)));
            }
            case 4 -> out.write(new byte[] {'S', 'S', 'H', '-'}); // truncated banner
            default -> { // an endless banner line
              out.write("SSH-2.0-".getBytes(StandardCharsets.US_ASCII));
              out.write("x".repeat(100_000).getBytes(StandardCharsets.US_ASCII));
            }
          }
          out.flush();
          socket.shutdownOutput(); // a truncated stream: EOF mid-handshake
          drain(socket.getInputStream());
        } catch (java.io.IOException e) {
          // the gateway closing on us is the right answer
        }
      }
      // Still serving, and the connections' threads are gone again.
      OpenSsh.Result after = gw.ssh(key, "whoami");
      assertThat(after.exit()).as(after.toString()).isZero();
      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(() -> assertThat(liveThreads()).isLessThanOrEqualTo(baseline + 3));
      assertThat(gw.registry.scrape())
          .as("counted as connections, not as failed logins (they never got to log in)")
          .contains("vmctl_ssh_connections_total")
          .doesNotContain("vmctl_ssh_auth_failures_total");
    }
  }

  /**
   * Issue 19: failed logins block their source, and the client is told why and for how long; bare
   * TCP connects and banner-only probes (readiness probes, key scans) are not failed logins.
   */
  @Test
  void failedAuthenticationsAreRateLimitedPerSource(KubeEnv env) throws Exception {
    try (GatewayHarness gw = new GatewayHarness(env, Map.of("VMCTL_SSH_MAX_AUTH_FAILURES", "3"))) {
      String suffix = UUID.randomUUID().toString().substring(0, 6);
      Path key = gw.register("rl-" + suffix, "rl-" + suffix + "@example.com");
      for (int i = 0; i < 10; i++) { // probes: connect and go, or a banner and garbage
        try (Socket socket = new Socket("127.0.0.1", gw.port())) {
          socket.setSoTimeout(2000);
          if (i % 2 == 1) {
            socket.getOutputStream().write("SSH-2.0-probe\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(new byte[64]);
          }
          socket.shutdownOutput();
          drain(socket.getInputStream());
        } catch (java.io.IOException e) {
          // closed by the gateway
        }
      }
      assertThat(gw.ssh(key, "whoami").exit()).as("probes are not failed logins").isZero();

      for (int i = 0; i < 3; i++) { // logins that offer no acceptable method
        OpenSsh.Result r =
            OpenSsh.ssh(
                null, key, gw.port(), "-o", "PubkeyAuthentication=no", "localhost", "whoami");
        assertThat(r.err()).contains("Permission denied");
      }
      OpenSsh.Result refused = gw.ssh(key, "whoami");
      assertThat(refused.exit()).isEqualTo(255);
      assertThat(refused.err())
          .as("the client is told why and for how long")
          .containsPattern("too many failed logins from 127\\.0\\.0\\.1; try again in \\d+ min");
      assertThat(gw.registry.scrape()).contains("reason=\"rate-limited\"");
    }
  }

  @Test
  void sessionsPerPersonAreCappedAndIdleSessionsClosed(KubeEnv env) throws Exception {
    try (GatewayHarness gw =
        new GatewayHarness(
            env, Map.of("VMCTL_SSH_MAX_SESSIONS_PER_USER", "1", "VMCTL_SSH_IDLE_TIMEOUT", "3s"))) {
      String suffix = UUID.randomUUID().toString().substring(0, 6);
      Path key = gw.register("cap-" + suffix, "cap-" + suffix + "@example.com");
      java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("ssh"));
      argv.addAll(OpenSsh.options(key));
      argv.addAll(java.util.List.of("-tt", "-p", String.valueOf(gw.port()), "localhost"));
      Process held = new ProcessBuilder(argv).redirectErrorStream(true).start();
      try {
        InputStream heldOut = held.getInputStream();
        byte[] prompt = new byte[4096];
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains(GatewayShell.PROMPT)) { // its session is open
          int n = heldOut.read(prompt);
          assertThat(n).isPositive();
          seen.append(new String(prompt, 0, n, StandardCharsets.UTF_8));
        }
        OpenSsh.Result second = gw.ssh(key, "whoami");
        assertThat(second.exit()).isEqualTo(255);
        assertThat(second.err()).contains("Permission denied");
        // Silent for longer than the idle timeout: the gateway hangs up.
        assertThat(held.waitFor(20, TimeUnit.SECONDS)).isTrue();
      } finally {
        held.destroyForcibly();
      }
      await().untilAsserted(() -> assertThat(gw.ssh(key, "whoami").exit()).isZero());
    }
  }

  @Test
  void theListenerBindsOnlyTheConfiguredAddress(KubeEnv env) throws Exception {
    // Every 127.x address is this host's loopback: bound to 127.0.0.2 it must not answer on
    // 127.0.0.1, as a gateway bound to one host address must not answer guests on the bridge.
    try (GatewayHarness gw = new GatewayHarness(env, Map.of("VMCTL_BIND_ADDRESS", "127.0.0.2"))) {
      String suffix = UUID.randomUUID().toString().substring(0, 6);
      Path key = OpenSsh.newKey(gw.dir, "bind-" + suffix);
      OpenSsh.Result there =
          OpenSsh.ssh(null, key, gw.port(), "127.0.0.2", "register", "bind-" + suffix + "@x.test");
      assertThat(there.exit()).as(there.toString()).isZero();
      assertThatThrownBy(() -> new Socket("127.0.0.1", gw.port()).close())
          .isInstanceOf(java.net.ConnectException.class);
      OpenSsh.Result elsewhere = OpenSsh.ssh(null, key, gw.port(), "127.0.0.1", "whoami");
      assertThat(elsewhere.exit()).isEqualTo(255);
      assertThat(elsewhere.err()).contains("Connection refused");
    }
  }

  private static byte[] randomBytes(Random random, int n) {
    byte[] bytes = new byte[n];
    random.nextBytes(bytes);
    return bytes;
  }

  private static void drain(InputStream in) {
    byte[] buffer = new byte[8192];
    try {
      while (in.read(buffer) >= 0) {
        // read until the gateway closes or the timeout fires
      }
    } catch (java.io.IOException e) {
      // timeout or reset
    }
  }

  private static int liveThreads() {
    return (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
  }
}
