package dev.vmctl.agent.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.agent.Frames;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real agent server on a Unix socket, exercised over the wire protocol. */
class AgentServerTest {
  @TempDir Path dir;
  Path root;
  Path socket;
  RecordingSystem system;
  AgentServer server;

  @BeforeEach
  void start() throws IOException {
    root = dir.resolve("root");
    Files.createDirectories(root.resolve("etc"));
    Files.writeString(
        root.resolve("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nvmctl:x:1000:1000::/home/vmctl:/bin/bash\n");
    socket = dir.resolve("agent.sock");
    system = new RecordingSystem();
    server = new AgentServer(socket, system, root, 64 * 1024, 8);
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
  }

  final class Conn implements AutoCloseable {
    final SocketChannel channel;
    final InputStream in;
    final OutputStream out;
    long id;

    Conn() throws IOException {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(socket));
      in = dev.vmctl.agent.ChannelStreams.in(channel);
      out = dev.vmctl.agent.ChannelStreams.out(channel);
    }

    /** Sends a request; returns all frames up to and including the final reply. */
    List<Map<String, Object>> call(String op, Map<String, Object> args) throws IOException {
      long myId = ++id;
      Frames.write(out, Map.of("id", myId, "op", op, "args", args));
      List<Map<String, Object>> frames = new ArrayList<>();
      while (true) {
        Map<String, Object> f = Frames.read(in, 1 << 20);
        frames.add(f);
        if (f.containsKey("ok")) {
          assertThat(f.get("id")).isEqualTo(myId);
          return frames;
        }
      }
    }

    Map<String, Object> ok(String op, Map<String, Object> args) throws IOException {
      Map<String, Object> reply = last(call(op, args));
      assertThat(reply.get("ok")).as(String.valueOf(reply.get("error"))).isEqualTo(true);
      @SuppressWarnings("unchecked")
      Map<String, Object> result = (Map<String, Object>) reply.get("result");
      return result;
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> error(String op, Map<String, Object> args) throws IOException {
      Map<String, Object> reply = last(call(op, args));
      assertThat(reply.get("ok")).isEqualTo(false);
      return (Map<String, Object>) reply.get("error");
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  static Map<String, Object> last(List<Map<String, Object>> frames) {
    return frames.get(frames.size() - 1);
  }

  @Test
  void helloReportsVersionBootIdAndUptime() throws IOException {
    try (Conn c = new Conn()) {
      Map<String, Object> hello = c.ok("hello", Map.of());
      assertThat(hello.get("agentVersion")).isEqualTo(Operations.VERSION);
      assertThat((String) hello.get("bootId"))
          .isEqualTo(Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim());
      assertThat((Long) hello.get("uptimeSeconds")).isPositive();
    }
  }

  @Test
  void execStreamsOutputAndReturnsTheExitCode() throws IOException {
    try (Conn c = new Conn()) {
      List<Map<String, Object>> frames =
          c.call(
              "exec",
              Map.of(
                  "argv",
                  List.of("sh", "-c", "cat; echo out; echo err >&2; exit 3"),
                  "stdin",
                  "in:",
                  "env",
                  Map.of("X", "1")));
      StringBuilder out = new StringBuilder();
      StringBuilder err = new StringBuilder();
      for (Map<String, Object> f : frames.subList(0, frames.size() - 1)) {
        String data =
            new String(Base64.getDecoder().decode((String) f.get("data")), StandardCharsets.UTF_8);
        (f.get("stream").equals("stdout") ? out : err).append(data);
      }
      assertThat(out.toString()).isEqualTo("in:out\n");
      assertThat(err.toString()).isEqualTo("err\n");
      @SuppressWarnings("unchecked")
      Map<String, Object> result = (Map<String, Object>) last(frames).get("result");
      assertThat(result).containsEntry("exitCode", 3L).containsEntry("timedOut", false);
      Map<String, Object> slow =
          c.ok("exec", Map.of("argv", List.of("sleep", "30"), "timeoutSeconds", 1L));
      assertThat(slow.get("timedOut")).isEqualTo(true);
      assertThat(c.error("exec", Map.of("argv", List.of("/nonexistent/binary"))).get("code"))
          .isEqualTo("ExecFailed");
    }
  }

  @Test
  void portsListsListeningSockets() throws IOException {
    try (ServerSocket listening = new ServerSocket(0);
        Conn c = new Conn()) {
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> tcp =
          (List<Map<String, Object>>) c.ok("ports", Map.of()).get("tcp");
      assertThat(tcp).extracting(p -> p.get("port")).contains((long) listening.getLocalPort());
    }
  }

  @Test
  void statsReportsCpuMemoryDiskAndLoad() throws IOException {
    try (Conn c = new Conn()) {
      c.ok("stats", Map.of());
      Map<String, Object> stats = c.ok("stats", Map.of());
      assertThat(stats)
          .containsKeys(
              "cpuPercent",
              "memoryTotalBytes",
              "memoryUsedBytes",
              "diskTotalBytes",
              "diskUsedBytes",
              "load1");
      assertThat((Long) stats.get("memoryTotalBytes"))
          .isGreaterThan((Long) stats.get("memoryUsedBytes"));
    }
  }

  @Test
  void configuresNetworkHostnameAndKeys() throws IOException {
    try (Conn c = new Conn()) {
      c.ok(
          "network.configure",
          Map.of(
              "interface",
              "eth0",
              "address",
              "10.100.0.5/24",
              "gateway",
              "10.100.0.1",
              "dns",
              List.of("10.100.0.1"),
              "mtu",
              1400L));
      assertThat(system.commands)
          .containsSubsequence(
              List.of("ip", "link", "set", "dev", "eth0", "mtu", "1400", "up"),
              List.of("ip", "addr", "add", "10.100.0.5/24", "dev", "eth0"),
              List.of("ip", "route", "replace", "default", "via", "10.100.0.1", "dev", "eth0"));
      assertThat(Files.readString(root.resolve("etc/resolv.conf")))
          .contains("nameserver 10.100.0.1");

      c.ok("hostname.set", Map.of("hostname", "web"));
      assertThat(Files.readString(root.resolve("etc/hostname"))).isEqualTo("web\n");
      assertThat(system.commands).contains(List.of("hostname", "web"));

      String key =
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM3CMeCjmH9mSvzd4Ja1Dke5sW2W3rR4sOCJq3Hp9e1x ada@laptop";
      c.ok("ssh.authorizedKeys.set", Map.of("user", "vmctl", "keys", List.of(key)));
      Path keys = root.resolve("home/vmctl/.ssh/authorized_keys");
      assertThat(Files.readString(keys)).contains(key);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)))
          .isEqualTo("rw-------");
      assertThat(system.commands)
          .contains(
              List.of("chown", "-R", "1000:1000", root.resolve("home/vmctl/.ssh").toString()));
    }
  }

  @Test
  void aNetworkTheBootAlreadyHasIsNotFlushedFromUnderOpenSessions() throws IOException {
    system.addrShow =
        "2: eth0    inet 10.100.0.5/24 brd 10.100.0.255 scope global eth0\\       valid_lft forever\n";
    try (Conn c = new Conn()) {
      c.ok("network.configure", Map.of("interface", "eth0", "address", "10.100.0.5/24"));
      assertThat(system.commands).noneMatch(argv -> argv.contains("flush"));

      c.ok("network.configure", Map.of("interface", "eth0", "address", "10.100.0.6/24"));
      assertThat(system.commands)
          .containsSubsequence(
              List.of("ip", "addr", "flush", "dev", "eth0"),
              List.of("ip", "addr", "add", "10.100.0.6/24", "dev", "eth0"));
    }
  }

  @Test
  void badArgumentsGetReadableErrors() throws IOException {
    try (Conn c = new Conn()) {
      assertThat(c.error("network.configure", Map.of("address", "10.0.0.5")).get("message"))
          .isEqualTo("address must be CIDR, such as 10.100.0.5/24");
      assertThat(c.error("hostname.set", Map.of("hostname", "Bad_Name")).get("code"))
          .isEqualTo("InvalidArgument");
      assertThat(
              c.error("ssh.authorizedKeys.set", Map.of("user", "nobody", "keys", List.of()))
                  .get("message"))
          .isEqualTo("no user named nobody");
      assertThat(
              c.error(
                      "ssh.authorizedKeys.set",
                      Map.of("user", "vmctl", "keys", List.of("not a key")))
                  .get("code"))
          .isEqualTo("InvalidArgument");
      assertThat(c.error("frobnicate", Map.of()).get("code")).isEqualTo("UnknownOperation");
      system.exitCode = 2;
      assertThat((String) c.error("hostname.set", Map.of("hostname", "x")).get("message"))
          .contains("RTNETLINK");
      // The connection is still usable after errors.
      assertThat(c.ok("hello", Map.of())).containsKey("bootId");
    }
  }

  @Test
  void shutdownRepliesThenPowersOff() throws IOException {
    try (Conn c = new Conn()) {
      assertThat(c.ok("shutdown", Map.of())).containsEntry("accepted", true);
      await().atMost(Duration.ofSeconds(5)).until(() -> Boolean.FALSE.equals(system.powered));
    }
  }

  @Test
  void survivesAFuzzOfMalformedFramesWithoutLeakingConnections() throws Exception {
    Random random = new Random(42);
    List<byte[]> hostile = new ArrayList<>();
    hostile.add(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    hostile.add(new byte[] {0, 1, 0, 0}); // 64 KiB, over this server's limit
    hostile.add(new byte[] {0, 0, 0, 1, '{'});
    hostile.add(new byte[] {0, 0, 0, 50, '{', '"'}); // truncated
    hostile.add(withLength("{\"id\":1,\"op\":".getBytes(StandardCharsets.UTF_8)));
    hostile.add(withLength("[".repeat(10000).getBytes(StandardCharsets.UTF_8)));
    hostile.add(withLength("{\"id\":{},\"op\":\"hello\"}".getBytes(StandardCharsets.UTF_8)));
    hostile.add(
        withLength(
            "{\"id\":1,\"op\":\"exec\",\"args\":{\"argv\":[1,2]}}"
                .getBytes(StandardCharsets.UTF_8)));
    hostile.add(
        withLength("{\"id\":1,\"op\":\"hello\",\"args\":\"x\"}".getBytes(StandardCharsets.UTF_8)));
    for (int i = 0; i < 200; i++) {
      byte[] garbage = new byte[random.nextInt(64) + 1];
      random.nextBytes(garbage);
      hostile.add(random.nextBoolean() ? garbage : withLength(garbage));
    }
    for (byte[] bytes : hostile) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket));
        OutputStream out = dev.vmctl.agent.ChannelStreams.out(ch);
        out.write(bytes);
        out.flush();
        ch.shutdownOutput();
        // Whatever comes back must be well-formed frames (errors), then end of stream.
        InputStream in = dev.vmctl.agent.ChannelStreams.in(ch);
        Map<String, Object> reply;
        try {
          while ((reply = Frames.read(in, 1 << 20)) != null) {
            assertThat(reply).containsKey("ok");
          }
        } catch (java.net.SocketException reset) {
          // The agent closed on us with our garbage unread: a reset is an acceptable refusal.
        }
      }
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> server.openConnections() == 0);
    try (Conn c = new Conn()) {
      assertThat(c.ok("hello", Map.of())).containsKey("agentVersion");
    }
  }

  private static byte[] withLength(byte[] body) {
    byte[] all = new byte[body.length + 4];
    all[0] = (byte) (body.length >>> 24);
    all[1] = (byte) (body.length >>> 16);
    all[2] = (byte) (body.length >>> 8);
    all[3] = (byte) body.length;
    System.arraycopy(body, 0, all, 4, body.length);
    return all;
  }
}
