package dev.vmctl.node.fakes;

import dev.vmctl.agent.ChannelStreams;
import dev.vmctl.agent.Frames;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A guest agent behind a hybrid-vsock socket, for node-daemon tests that need a guest that answers
 * without booting one: the {@code CONNECT <port>} / {@code OK <port>} handshake of cloud-hypervisor
 * and vhost-device-vsock, then the agent protocol's frames (agent-protocol). It changes nothing on
 * the host; {@code rejectKeys} makes it refuse authorized keys the way a guest that cannot write
 * them would.
 */
public final class FakeAgent implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Path socket;
  private final String bootId = UUID.randomUUID().toString();
  public volatile boolean rejectKeys;
  public volatile List<String> installedKeys = List.of();

  /** What the guest does when asked to power off (the fake host ends its "hypervisor"). */
  public volatile Runnable onShutdown = () -> {};

  /** Whether the guest ignores a power-off request (a hung guest). */
  public volatile boolean ignoreShutdown;

  public FakeAgent(Path socket) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t = new Thread(this::accept, "fake-agent");
    t.setDaemon(true);
    t.start();
  }

  private void accept() {
    while (server.isOpen()) {
      try {
        SocketChannel ch = server.accept();
        Thread t = new Thread(() -> serve(ch), "fake-agent-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SocketChannel ch) {
    try (ch) {
      InputStream in = ChannelStreams.in(ch);
      OutputStream out = ChannelStreams.out(ch);
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) != -1 && c != '\n') {
        line.append((char) c);
      }
      String port = line.toString().replace("CONNECT ", "").trim();
      out.write(("OK " + port + "\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      while (true) {
        Map<String, Object> request = Frames.read(in, Frames.DEFAULT_MAX);
        if (request == null) {
          return;
        }
        Frames.write(out, answer(request));
      }
    } catch (IOException e) {
      // the daemon hung up
    }
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> answer(Map<String, Object> request) {
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("id", request.get("id"));
    String op = (String) request.get("op");
    Map<String, Object> result = new LinkedHashMap<>();
    switch (op) {
      case "hello" -> {
        result.put("agentVersion", "fake");
        result.put("bootId", bootId);
        result.put("uptimeSeconds", 1L);
        result.put("hostname", "fake");
        result.put("os", "Fake OS");
        result.put("kernel", "0");
      }
      case "ports" -> result.put("tcp", List.of(Map.of("port", 22L)));
      case "ssh.authorizedKeys.set" -> {
        if (rejectKeys) {
          reply.put("ok", false);
          reply.put(
              "error", Map.of("code", "WriteFailed", "message", "cannot write authorized_keys"));
          return reply;
        }
        installedKeys = (List<String>) ((Map<String, Object>) request.get("args")).get("keys");
      }
      case "shutdown" -> {
        if (!ignoreShutdown) {
          // Powers off a moment after answering, as a guest does.
          Thread t = new Thread(onShutdown, "fake-guest-poweroff");
          t.setDaemon(true);
          t.start();
        }
      }
      default -> {}
    }
    reply.put("ok", true);
    reply.put("result", result);
    return reply;
  }

  @Override
  public void close() throws IOException {
    server.close();
    Files.deleteIfExists(socket);
  }
}
