package dev.vmctl.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.agent.guest.AgentServer;
import dev.vmctl.agent.guest.LinuxGuestSystem;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The host-side client against the real agent, through a hybrid-vsock emulation. */
class AgentClientTest {
  @TempDir Path dir;

  @Test
  void typedCallsThroughHybridVsock() throws Exception {
    Path agentSocket = dir.resolve("agent.sock");
    Path vsock = dir.resolve("vsock.sock");
    try (AgentServer agent = new AgentServer(agentSocket, new LinuxGuestSystem(), dir, 1 << 20, 8);
        HybridVsockProxy proxy = new HybridVsockProxy(vsock, Map.of(1024, agentSocket));
        AgentClient client = AgentClient.connectHybridVsock(vsock, 1024, Duration.ofSeconds(5));
        ServerSocket web = new ServerSocket(0)) {
      AgentClient.Hello hello = client.hello(Duration.ofSeconds(5));
      assertThat(hello.agentVersion()).isEqualTo("0.1.0");
      assertThat(hello.bootId()).hasSize(36);
      AgentClient.ExecResult r =
          client.exec(
              List.of("sh", "-c", "echo $GREETING; echo oops >&2; exit 4"),
              Map.of("GREETING", "hi"),
              null,
              Duration.ofSeconds(10));
      assertThat(r).isEqualTo(new AgentClient.ExecResult(4, "hi\n", "oops\n", false));
      assertThat(client.ports()).contains(web.getLocalPort());
      assertThat(client.stats()).containsKey("memoryTotalBytes");
      // Concurrent calls on one connection are matched by id.
      var a = CompletableFuture.supplyAsync(() -> exec(client, "sleep 0.5; echo a"));
      var b = CompletableFuture.supplyAsync(() -> exec(client, "echo b"));
      assertThat(b.get()).isEqualTo("b\n");
      assertThat(a.get()).isEqualTo("a\n");
      assertThatThrownBy(() -> client.setHostname("Not_Valid"))
          .isInstanceOfSatisfying(
              AgentClient.AgentError.class, e -> assertThat(e.code()).isEqualTo("InvalidArgument"));
    }
  }

  private static String exec(AgentClient client, String script) {
    try {
      return client
          .exec(List.of("sh", "-c", script), Map.of(), null, Duration.ofSeconds(10))
          .stdout();
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  @Test
  void connectToAPortNobodyListensOnFailsClearly() throws Exception {
    Path vsock = dir.resolve("vsock.sock");
    try (HybridVsockProxy proxy = new HybridVsockProxy(vsock, Map.of())) {
      assertThatThrownBy(() -> AgentClient.connectHybridVsock(vsock, 1024, Duration.ofSeconds(2)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("hybrid vsock refused CONNECT 1024");
    }
  }

  @Test
  void retriesUntilTheAgentComesUp() throws Exception {
    Path agentSocket = dir.resolve("late.sock");
    Path vsock = dir.resolve("vsock.sock");
    try (HybridVsockProxy proxy = new HybridVsockProxy(vsock, Map.of(1024, agentSocket))) {
      CompletableFuture<AgentServer> late =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  Thread.sleep(1500);
                  return new AgentServer(agentSocket, new LinuxGuestSystem(), dir, 1 << 20, 8);
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              });
      Instant start = Instant.now();
      try (AgentClient client =
          AgentClient.connectWithRetry(vsock, 1024, Instant.now().plusSeconds(20))) {
        assertThat(Duration.between(start, Instant.now())).isGreaterThan(Duration.ofMillis(1000));
        assertThat(client.hello(Duration.ofSeconds(5)).agentVersion()).isEqualTo("0.1.0");
      } finally {
        late.get().close();
      }
    }
    assertThat(Files.exists(agentSocket)).isTrue();
  }

  /** A peer that accepts connections and never answers (or only answers CONNECT). */
  private static ServerSocketChannel silentPeer(Path socket, boolean answerConnect)
      throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t =
        new Thread(
            () -> {
              List<SocketChannel> held = new ArrayList<>();
              try {
                while (true) {
                  SocketChannel c = server.accept();
                  held.add(c);
                  if (answerConnect) {
                    c.write(ByteBuffer.wrap("OK 1024\n".getBytes(StandardCharsets.US_ASCII)));
                  }
                }
              } catch (IOException e) {
                for (SocketChannel c : held) {
                  try {
                    c.close();
                  } catch (IOException ignored) {
                    // closing
                  }
                }
              }
            });
    t.setDaemon(true);
    t.start();
    return server;
  }

  @Test
  @Timeout(30)
  void aPeerThatNeverAnswersConnectFailsWithinTheTimeout() throws Exception {
    Path vsock = dir.resolve("vsock.sock");
    try (ServerSocketChannel peer = silentPeer(vsock, false)) {
      assertThatThrownBy(() -> AgentClient.connectHybridVsock(vsock, 1024, Duration.ofMillis(300)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("no answer to CONNECT within 300 ms");
    }
  }

  @Test
  @Timeout(30)
  void anAgentThatNeverRepliesFailsTheCallWithinItsTimeout() throws Exception {
    Path vsock = dir.resolve("vsock.sock");
    try (ServerSocketChannel peer = silentPeer(vsock, true);
        AgentClient client = AgentClient.connectHybridVsock(vsock, 1024, Duration.ofSeconds(5))) {
      assertThatThrownBy(() -> client.hello(Duration.ofMillis(300)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("hello got no reply within 300 ms");
    }
  }
}
