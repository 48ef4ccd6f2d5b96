package dev.vmctl.node.hypervisor;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The bytes of firecracker-microvm/micro-http, the HTTP/1.1 server cloud-hypervisor uses ({@code
 * src/server.rs}, {@code src/response.rs}), for {@link CloudHypervisorEmulator}: request parsing,
 * the response format, the connection limit.
 */
final class MicroHttp {
  private MicroHttp() {}

  /** micro-http serves at most this many connections; the next one gets SERVER_FULL and closed. */
  static final int MAX_CONNECTIONS = 10;

  /** micro-http's SERVER_FULL_ERROR_MESSAGE, written on accept, before any request is read. */
  static final String SERVER_FULL =
      "HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n" // a static string,
          // set_server does not
          // reach it
          + "Content-Length: 40\r\n\r\n{ \"error\": \"Too many open connections\" }";

  static final HttpResponse NO_CONTENT = new HttpResponse(204, null);
  static final HttpResponse BARE_BAD_REQUEST = new HttpResponse(400, "");

  static void refuse(SocketChannel ch) {
    try (ch) {
      Channels.newOutputStream(ch).write(SERVER_FULL.getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // the client went away
    }
  }

  record HttpRequest(
      String method, String path, String version, Map<String, String> headers, String body) {}

  /** A response; a null body means no Content-Type/Content-Length (micro-http's 204). */
  record HttpResponse(int status, String body) {}

  /** Reads one request, or returns null if the peer closed the connection between requests. */
  static HttpRequest readRequest(InputStream in) throws IOException {
    String line = readLine(in, true);
    if (line == null) {
      return null;
    }
    String[] parts = line.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
      throw new ProtocolException("bad request line: " + line);
    }
    Map<String, String> headers = readHeaders(in);
    if (headers.containsKey("transfer-encoding")) {
      throw new ProtocolException("micro-http needs Content-Length");
    }
    int length = contentLength(headers.get("content-length"));
    byte[] body = in.readNBytes(length);
    if (body.length != length) {
      throw new EOFException("body shorter than Content-Length");
    }
    // micro-http only has a body when Content-Length > 0.
    String text = length == 0 ? null : new String(body, StandardCharsets.UTF_8);
    return new HttpRequest(parts[0], absolutePath(parts[1]), parts[2], headers, text);
  }

  private static Map<String, String> readHeaders(InputStream in) throws IOException {
    Map<String, String> headers = new HashMap<>();
    for (String h = readLine(in, false); !h.isEmpty(); h = readLine(in, false)) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new ProtocolException("bad header: " + h);
      }
      headers.put(
          h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    return headers;
  }

  private static int contentLength(String value) throws ProtocolException {
    if (value == null) {
      return 0;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < 0) {
        throw new ProtocolException("negative Content-Length");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ProtocolException("bad Content-Length: " + value);
    }
  }

  /** The path micro-http routes on: origin form as is, absolute form without scheme and host. */
  private static String absolutePath(String target) {
    int scheme = target.indexOf("://");
    if (scheme < 0) {
      return target;
    }
    int slash = target.indexOf('/', scheme + 3);
    return slash < 0 ? "/" : target.substring(slash);
  }

  private static String readLine(InputStream in, boolean eofOk) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c == -1) {
        if (eofOk && line.size() == 0) {
          return null;
        }
        throw new EOFException("connection closed mid-request");
      }
      if (line.size() > 16384) {
        throw new ProtocolException("line too long");
      }
      line.write(c);
    }
    String s = line.toString(StandardCharsets.US_ASCII);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** micro-http's format: no reason phrase, always keep-alive, JSON content type. */
  static void write(OutputStream out, HttpResponse r) throws IOException {
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(r.status()).append(" \r\n");
    head.append("Server: Cloud Hypervisor API\r\nConnection: keep-alive\r\n");
    byte[] body = r.body() == null ? new byte[0] : r.body().getBytes(StandardCharsets.UTF_8);
    if (r.body() != null) {
      head.append("Content-Type: application/json\r\nContent-Length: ")
          .append(body.length)
          .append("\r\n");
    }
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  /** Like the process exiting: the socket is removed first, then the connections close. */
}
