package dev.vmctl.agent.client;

import dev.vmctl.agent.Frames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * Host-side client of the guest agent. Connects through the hypervisor's hybrid-vsock Unix socket
 * ({@code CONNECT <port>\n}, answered by {@code OK <port>\n}; cloud-hypervisor, Firecracker and
 * vhost-device-vsock all speak it), then exchanges length-prefixed JSON frames. Calls may run
 * concurrently; replies are matched by id.
 */
public final class AgentClient implements AutoCloseable {
  public static final int AGENT_PORT = 1024;

  private final SocketChannel channel;
  private final InputStream in;
  private final OutputStream out;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final Thread reader;
  private volatile IOException failure;

  private record Pending(
      CompletableFuture<Map<String, Object>> reply, BiConsumer<String, byte[]> output) {}

  private AgentClient(SocketChannel channel) {
    this.channel = channel;
    this.in = dev.vmctl.agent.ChannelStreams.in(channel);
    this.out = dev.vmctl.agent.ChannelStreams.out(channel);
    this.reader = new Thread(this::readLoop, "agent-client-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /** Connects through a hybrid-vsock socket to {@code port} in the guest. */
  public static AgentClient connectHybridVsock(Path socket, int port, Duration timeout)
      throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      channel.connect(UnixDomainSocketAddress.of(socket));
      channel.write(
          ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
      String line = readLine(channel, timeout);
      if (!line.startsWith("OK ")) {
        throw new IOException("hybrid vsock refused CONNECT " + port + ": " + line);
      }
      return new AgentClient(channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** Connects to an agent listening on a plain Unix socket (the guest side of the bridge). */
  public static AgentClient connectUnix(Path socket) throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    return new AgentClient(channel);
  }

  /**
   * Keeps trying to connect (the guest may still be booting) with exponential backoff from 100 ms
   * up to 2 s, until {@code deadline}; each attempt must also answer hello.
   */
  public static AgentClient connectWithRetry(Path socket, int port, Instant deadline)
      throws IOException, InterruptedException {
    long backoff = 100;
    IOException last = null;
    while (Instant.now().isBefore(deadline)) {
      try {
        AgentClient client = connectHybridVsock(socket, port, Duration.ofSeconds(5));
        try {
          client.hello(Duration.ofSeconds(10));
          return client;
        } catch (IOException e) {
          client.close();
          throw e;
        }
      } catch (IOException e) {
        last = e;
      }
      Thread.sleep(backoff);
      backoff = Math.min(2000, backoff * 2);
    }
    throw new IOException(
        "guest agent not reachable through " + socket + " before the deadline", last);
  }

  private static String readLine(SocketChannel channel, Duration timeout) throws IOException {
    // Byte by byte: nothing after the newline may be consumed, it belongs to the frames.
    CompletableFuture<String> line =
        CompletableFuture.supplyAsync(
            () -> {
              ByteArrayOutputStream buf = new ByteArrayOutputStream();
              ByteBuffer one = ByteBuffer.allocate(1);
              try {
                while (buf.size() < 128) {
                  one.clear();
                  if (channel.read(one) < 0) {
                    return "connection closed";
                  }
                  if (one.get(0) == '\n') {
                    return buf.toString(StandardCharsets.US_ASCII);
                  }
                  buf.write(one.get(0));
                }
                return "line too long";
              } catch (IOException e) {
                return "read failed: " + e.getMessage();
              }
            });
    try {
      return line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      channel.close();
      throw new IOException("no answer to CONNECT within " + timeout.toMillis() + " ms");
    } catch (InterruptedException | ExecutionException e) {
      throw new IOException(e);
    }
  }

  private void readLoop() {
    try {
      while (true) {
        Map<String, Object> frame = Frames.read(in, 8 * Frames.DEFAULT_MAX);
        if (frame == null) {
          throw new IOException("agent closed the connection");
        }
        Object id = frame.get("id");
        Pending p = id instanceof Long l ? pending.get(l) : null;
        if (p == null) {
          if (frame.get("ok") == Boolean.FALSE) {
            throw new IOException("agent error: " + frame.get("error"));
          }
          continue;
        }
        if (frame.containsKey("stream")) {
          if (p.output() != null) {
            p.output()
                .accept(
                    (String) frame.get("stream"),
                    Base64.getDecoder().decode((String) frame.get("data")));
          }
        } else {
          pending.remove(id);
          p.reply().complete(frame);
        }
      }
    } catch (IOException e) {
      failure = e;
      pending.values().forEach(p -> p.reply().completeExceptionally(e));
      pending.clear();
    }
  }

  /** Sends one request and waits for its reply; throws {@link AgentError} for error replies. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> call(
      String op, Map<String, ?> args, Duration timeout, BiConsumer<String, byte[]> output)
      throws IOException {
    if (failure != null) {
      throw new IOException("connection to the agent is broken", failure);
    }
    long id = ids.incrementAndGet();
    CompletableFuture<Map<String, Object>> reply = new CompletableFuture<>();
    pending.put(id, new Pending(reply, output));
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", id);
    request.put("op", op);
    request.put("args", args == null ? Map.of() : args);
    Frames.write(out, request);
    Map<String, Object> frame;
    try {
      frame = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      pending.remove(id);
      throw new IOException(op + " got no reply within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException(op + " failed: " + e.getCause().getMessage(), e.getCause());
    }
    if (Boolean.TRUE.equals(frame.get("ok"))) {
      return (Map<String, Object>) frame.get("result");
    }
    Map<String, Object> error = (Map<String, Object>) frame.get("error");
    throw new AgentError(String.valueOf(error.get("code")), String.valueOf(error.get("message")));
  }

  public Hello hello(Duration timeout) throws IOException {
    Map<String, Object> r = call("hello", Map.of(), timeout, null);
    return new Hello(
        (String) r.get("agentVersion"),
        (String) r.get("bootId"),
        ((Number) r.get("uptimeSeconds")).longValue(),
        (String) r.get("hostname"),
        (String) r.get("os"),
        (String) r.get("kernel"));
  }

  public void configureNetwork(
      String address, String gateway, List<String> dns, int mtu, String mac) throws IOException {
    Map<String, Object> args = new LinkedHashMap<>();
    args.put("address", address);
    if (gateway != null) {
      args.put("gateway", gateway);
    }
    args.put("dns", dns);
    args.put("mtu", (long) mtu);
    if (mac != null) {
      args.put("mac", mac);
    }
    call("network.configure", args, Duration.ofSeconds(30), null);
  }

  public void setHostname(String hostname) throws IOException {
    call("hostname.set", Map.of("hostname", hostname), Duration.ofSeconds(15), null);
  }

  public void setAuthorizedKeys(String user, List<String> keys) throws IOException {
    call(
        "ssh.authorizedKeys.set", Map.of("user", user, "keys", keys), Duration.ofSeconds(15), null);
  }

  /** Runs a command in the guest, collecting its output. */
  public ExecResult exec(List<String> argv, Map<String, String> env, String stdin, Duration timeout)
      throws IOException {
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    Map<String, Object> args = new LinkedHashMap<>();
    args.put("argv", argv);
    args.put("env", env == null ? Map.of() : env);
    if (stdin != null) {
      args.put("stdin", stdin);
    }
    args.put("timeoutSeconds", Math.max(1, timeout.toSeconds()));
    Map<String, Object> r =
        call(
            "exec",
            args,
            timeout.plusSeconds(10),
            (stream, data) -> (stream.equals("stderr") ? stderr : stdout).writeBytes(data));
    return new ExecResult(
        ((Number) r.get("exitCode")).intValue(),
        stdout.toString(StandardCharsets.UTF_8),
        stderr.toString(StandardCharsets.UTF_8),
        Boolean.TRUE.equals(r.get("timedOut")));
  }

  public Map<String, Object> stats() throws IOException {
    return call("stats", Map.of(), Duration.ofSeconds(10), null);
  }

  /** Listening TCP ports in the guest. */
  @SuppressWarnings("unchecked")
  public List<Integer> ports() throws IOException {
    List<Map<String, Object>> tcp =
        (List<Map<String, Object>>)
            call("ports", Map.of(), Duration.ofSeconds(10), null).get("tcp");
    return tcp.stream().map(p -> ((Number) p.get("port")).intValue()).toList();
  }

  public void shutdown() throws IOException {
    call("shutdown", Map.of(), Duration.ofSeconds(10), null);
  }

  public void reboot() throws IOException {
    call("reboot", Map.of(), Duration.ofSeconds(10), null);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** The agent's greeting. */
  public record Hello(
      String agentVersion,
      String bootId,
      long uptimeSeconds,
      String hostname,
      String os,
      String kernel) {}

  /** A finished command. */
  public record ExecResult(int exitCode, String stdout, String stderr, boolean timedOut) {}

  /** An error reply from the agent. */
  public static final class AgentError extends IOException {
    private final String code;

    public AgentError(String code, String message) {
      super(code + ": " + message);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }
}
