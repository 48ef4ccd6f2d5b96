package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.ChannelStreams;
import dev.vmctl.agent.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/** A minimal QMP client: one command per connection, events skipped. */
final class Qmp {
  private Qmp() {}

  static Map<String, Object> execute(Path socket, String command) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      BufferedReader in =
          new BufferedReader(new InputStreamReader(ChannelStreams.in(ch), StandardCharsets.UTF_8));
      OutputStream out = ChannelStreams.out(ch);
      in.readLine(); // greeting
      send(out, "qmp_capabilities");
      reply(in);
      send(out, command);
      return reply(in);
    }
  }

  private static void send(OutputStream out, String command) throws IOException {
    out.write((Json.write(Map.of("execute", command)) + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static Map<String, Object> reply(BufferedReader in) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      Map<String, Object> msg = Json.parseObject(line);
      if (msg.containsKey("error")) {
        throw new IOException("QMP error: " + msg.get("error"));
      }
      if (msg.containsKey("return")) {
        return msg;
      }
    }
    throw new IOException("QMP connection closed");
  }
}
