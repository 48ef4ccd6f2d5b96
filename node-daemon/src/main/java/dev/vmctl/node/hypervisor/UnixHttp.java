package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.ChannelStreams;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/** HTTP/1.1 over a Unix socket, one request per connection: enough for a VMM's REST API. */
final class UnixHttp {
  private UnixHttp() {}

  /** Status code and body of a response. */
  record Response(int status, String body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  static Response request(Path socket, String method, String path, String jsonBody)
      throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder();
      head.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
      head.append("Host: localhost\r\n");
      head.append("Accept: application/json\r\n");
      if (jsonBody != null) {
        head.append("Content-Type: application/json\r\n");
      }
      head.append("Content-Length: ").append(body.length).append("\r\n");
      head.append("Connection: close\r\n\r\n");
      OutputStream out = ChannelStreams.out(ch);
      out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      return read(ChannelStreams.in(ch));
    }
  }

  private static Response read(InputStream in) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP response: " + statusLine);
    }
    int status = Integer.parseInt(parts[1]);
    int length = -1;
    String header;
    while (!(header = line(in)).isEmpty()) {
      int colon = header.indexOf(':');
      if (colon > 0
          && header.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
        length = Integer.parseInt(header.substring(colon + 1).trim());
      }
    }
    byte[] body = length >= 0 ? in.readNBytes(length) : in.readAllBytes();
    return new Response(status, new String(body, StandardCharsets.UTF_8));
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      if (c != '\r') {
        buf.write(c);
      }
      if (buf.size() > 8192) {
        throw new IOException("header line too long");
      }
    }
    if (c == -1 && buf.size() == 0) {
      throw new IOException("connection closed before a response");
    }
    return buf.toString(StandardCharsets.US_ASCII);
  }
}
