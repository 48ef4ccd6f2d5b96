package dev.vmctl.agent.guest;

import dev.vmctl.agent.Frames;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves the agent protocol on a Unix socket (inside the guest, socat bridges vsock port 1024 to
 * it; see docs/guest-agent.md). One thread per connection, requests served in order; a malformed or
 * oversized frame gets an error reply and the connection is closed.
 */
public final class AgentServer implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Operations operations;
  private final int maxFrame;
  private final Semaphore connections;
  private final AtomicInteger open = new AtomicInteger();
  private final Thread acceptor;
  private volatile boolean closed;

  public AgentServer(Path socket, GuestSystem system, Path root, int maxFrame, int maxConnections)
      throws IOException {
    Files.createDirectories(socket.toAbsolutePath().getParent());
    Files.deleteIfExists(socket);
    this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    this.operations = new Operations(system, root);
    this.maxFrame = maxFrame;
    this.connections = new Semaphore(maxConnections);
    this.acceptor = new Thread(this::acceptLoop, "agent-accept");
    acceptor.start();
  }

  /** Connections being served right now (for tests: nothing leaks). */
  public int openConnections() {
    return open.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        SocketChannel channel = server.accept();
        if (!connections.tryAcquire()) {
          channel.close(); // over the cap: refuse rather than queue without bound
          continue;
        }
        open.incrementAndGet();
        Thread t =
            new Thread(
                () -> {
                  try {
                    serve(channel);
                  } finally {
                    open.decrementAndGet();
                    connections.release();
                  }
                },
                "agent-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) {
          System.err.println("accept failed: " + e);
        }
      }
    }
  }

  private void serve(SocketChannel channel) {
    try (channel;
        InputStream in = dev.vmctl.agent.ChannelStreams.in(channel);
        OutputStream out = dev.vmctl.agent.ChannelStreams.out(channel)) {
      while (true) {
        Map<String, Object> request;
        try {
          request = Frames.read(in, maxFrame);
        } catch (Frames.FrameException e) {
          Frames.write(out, error(null, "BadFrame", e.getMessage()));
          return;
        }
        if (request == null) {
          return;
        }
        handle(request, out);
      }
    } catch (IOException e) {
      // peer went away; nothing to clean up beyond the channel
    } catch (RuntimeException e) {
      System.err.println("connection failed: " + e);
    }
  }

  private void handle(Map<String, Object> request, OutputStream out) throws IOException {
    Object id = request.get("id");
    if (!(id instanceof Long) && !(id instanceof String)) {
      Frames.write(out, error(null, "BadRequest", "id must be a number or a string"));
      return;
    }
    if (!(request.get("op") instanceof String op)) {
      Frames.write(out, error(id, "BadRequest", "op must be a string"));
      return;
    }
    Object rawArgs = request.get("args");
    if (rawArgs != null && !(rawArgs instanceof Map)) {
      Frames.write(out, error(id, "BadRequest", "args must be an object"));
      return;
    }
    @SuppressWarnings("unchecked")
    Args args = new Args((Map<String, Object>) rawArgs);
    try {
      Map<String, Object> result =
          operations.call(
              op,
              args,
              partial -> {
                Map<String, Object> frame = new LinkedHashMap<>(partial);
                frame.put("id", id);
                Frames.write(out, frame);
              });
      Map<String, Object> reply = new LinkedHashMap<>();
      reply.put("id", id);
      reply.put("ok", true);
      reply.put("result", result);
      Frames.write(out, reply);
    } catch (AgentException e) {
      Frames.write(out, error(id, e.code(), e.getMessage()));
    } catch (IOException | RuntimeException e) {
      Frames.write(out, error(id, "Failed", String.valueOf(e.getMessage())));
    }
  }

  static Map<String, Object> error(Object id, String code, String message) {
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("id", id);
    reply.put("ok", false);
    reply.put("error", Map.of("code", code, "message", message));
    return reply;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
  }
}
