package dev.vmctl.node.hypervisor;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A bare HTTP/1.1 connection for looking at the emulator's bytes, independent of the driver's
 * client. Every read is bounded by a deadline (the read runs on its own thread).
 */
final class RawHttp implements AutoCloseable {
  static final Duration DEADLINE = Duration.ofSeconds(10);

  record Reply(int status, Map<String, String> headers, String body) {}

  private final SocketChannel channel;
  private final InputStream in;

  RawHttp(Path socket) throws IOException {
    channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    in = new BufferedInputStream(Channels.newInputStream(channel));
  }

  /** Writes a request: Content-Length when there is a body, plus any extra header lines. */
  RawHttp send(String method, String path, String body, String... extraHeaders) throws IOException {
    StringBuilder r = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n");
    for (String h : extraHeaders) {
      r.append(h).append("\r\n");
    }
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      r.append("Content-Type: application/json\r\nContent-Length: ")
          .append(bytes.length)
          .append("\r\n");
    }
    r.append("\r\n");
    channel.write(ByteBuffer.wrap(r.toString().getBytes(StandardCharsets.US_ASCII)));
    channel.write(ByteBuffer.wrap(bytes));
    return this;
  }

  /** Reads one response framed as RFC 9110 says: a 204 ends at its headers. */
  Reply read() throws IOException {
    return bounded(
        () -> {
          String status = line();
          Map<String, String> headers = new LinkedHashMap<>();
          for (String h = line(); !h.isEmpty(); h = line()) {
            int colon = h.indexOf(':');
            headers.put(
                h.substring(0, colon).toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
          }
          int code = Integer.parseInt(status.split(" ")[1]);
          String length = headers.get("content-length");
          byte[] body =
              code == 204 || length == null ? new byte[0] : in.readNBytes(Integer.parseInt(length));
          return new Reply(code, headers, new String(body, StandardCharsets.UTF_8));
        },
        DEADLINE);
  }

  Reply exchange(String method, String path, String body, String... extraHeaders)
      throws IOException {
    return send(method, path, body, extraHeaders).read();
  }

  /** Reads until end of stream, as a client that ignores 204's framing does; bounded. */
  CompletableFuture<byte[]> readToEndOfStream() {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return in.readAllBytes();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  /** True when the server closed the connection (end of stream) within the deadline. */
  boolean closedByServer() throws IOException {
    return bounded(() -> in.read() == -1, DEADLINE);
  }

  private String line() throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c == -1) {
        throw new IOException("end of stream in a response head");
      }
      if (c != '\r') {
        buf.write(c);
      }
    }
    return buf.toString(StandardCharsets.US_ASCII);
  }

  private interface Read<T> {
    T read() throws IOException;
  }

  private <T> T bounded(Read<T> read, Duration deadline) throws IOException {
    CompletableFuture<T> f =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return read.read();
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    try {
      return f.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      close();
      throw new IOException("no response within " + deadline);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } catch (ExecutionException e) {
      throw new IOException(e.getCause());
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
