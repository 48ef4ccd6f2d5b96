package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The QMP client against a scripted peer: answers, and also peers that never answer. */
@Timeout(30)
class QmpTest {
  @TempDir Path dir;
  ServerSocketChannel server;
  final List<SocketChannel> accepted = new CopyOnWriteArrayList<>();

  /** A peer on qmp.sock: {@code greeting} sends QMP's greeting, {@code answers} the returns. */
  Path peer(boolean greeting, boolean answers) throws IOException {
    Path socket = dir.resolve("qmp.sock");
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) {
                  SocketChannel c = server.accept();
                  accepted.add(c);
                  serve(c, greeting, answers);
                }
              } catch (IOException e) {
                // closed
              }
            });
    t.setDaemon(true);
    t.start();
    return socket;
  }

  private static void serve(SocketChannel c, boolean greeting, boolean answers) throws IOException {
    OutputStream out = Channels.newOutputStream(c);
    if (!greeting) {
      return; // accepts, and never says anything
    }
    out.write("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n".getBytes());
    if (!answers) {
      return;
    }
    BufferedReader in =
        new BufferedReader(
            new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
    in.readLine();
    out.write("{\"return\": {}}\n".getBytes());
    in.readLine();
    out.write("{\"event\": \"RESUME\"}\n{\"return\": {\"status\": \"paused\"}}\n".getBytes());
  }

  @AfterEach
  void close() throws IOException {
    if (server != null) {
      server.close();
    }
    for (SocketChannel c : accepted) {
      c.close();
    }
  }

  @Test
  void executesACommandSkippingEvents() throws IOException {
    Path socket = peer(true, true);
    Map<String, Object> r = Qmp.execute(socket, "query-status", Duration.ofSeconds(5));
    assertThat(r).isEqualTo(Map.of("return", Map.of("status", "paused")));
  }

  @Test
  void aPeerThatAcceptsAndNeverAnswersFailsTheCallWithinTheDeadline() throws IOException {
    Path socket = peer(false, false);
    assertThatThrownBy(() -> Qmp.execute(socket, "stop", Duration.ofMillis(300)))
        .isInstanceOf(SocketTimeoutException.class)
        .hasMessageContaining("no answer before the deadline");
  }

  @Test
  void aPeerThatGreetsAndThenHangsFailsTheCallWithinTheDeadline() throws IOException {
    Path socket = peer(true, false);
    assertThatThrownBy(() -> Qmp.execute(socket, "stop", Duration.ofMillis(300)))
        .isInstanceOf(SocketTimeoutException.class);
  }

  @Test
  void qemuPauseOnAHungQmpFailsWithinTheDeadline() throws IOException {
    peer(false, false);
    QemuHypervisor qemu =
        new QemuHypervisor(
            argv -> new dev.vmctl.node.host.Commands.Result(0, "", ""),
            "qemu-system-x86_64",
            "vhost-device-vsock",
            dir,
            null,
            false,
            Duration.ofMillis(300));
    dev.vmctl.node.model.VmPlan plan =
        new dev.vmctl.node.model.VmPlan(
            "0123456789ab",
            "web",
            "ada",
            dir,
            "debian-12",
            1,
            1,
            512L << 20,
            512L << 20,
            10L << 30,
            "vt0",
            "52:54:00:12:34:56",
            "10.100.0.2",
            "10.100.0.1",
            24,
            3);
    assertThatThrownBy(() -> qemu.pause(plan)).isInstanceOf(SocketTimeoutException.class);
  }

  @Test
  void noSocketFailsAtOnce() {
    assertThatThrownBy(() -> Qmp.execute(dir.resolve("none.sock"), "stop", Duration.ofSeconds(5)))
        .isInstanceOf(java.net.ConnectException.class);
  }
}
