package dev.vmctl.agent.client;

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
import java.util.Map;

/**
 * Emulates the host end of hybrid vsock (what cloud-hypervisor, Firecracker and vhost-device-vsock
 * expose): reads {@code CONNECT <port>\n}; if a guest service listens on that port (here: a Unix
 * socket) answers {@code OK <hostport>\n} and splices the streams, otherwise closes the connection
 * without a reply, as the real ones do.
 */
final class HybridVsockProxy implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Map<Integer, Path> guestPorts;

  HybridVsockProxy(Path socket, Map<Integer, Path> guestPorts) throws IOException {
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    this.guestPorts = guestPorts;
    Thread t = new Thread(this::acceptLoop, "vsock-proxy");
    t.setDaemon(true);
    t.start();
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel host = server.accept();
        Thread t = new Thread(() -> serve(host));
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SocketChannel host) {
    try (host) {
      InputStream in = dev.vmctl.agent.ChannelStreams.in(host);
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) != -1 && c != '\n') {
        line.append((char) c);
      }
      if (!line.toString().startsWith("CONNECT ")) {
        return;
      }
      int port = Integer.parseInt(line.substring(8).trim());
      Path target = guestPorts.get(port);
      if (target == null || !Files.exists(target)) {
        return;
      }
      try (SocketChannel guest = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        guest.connect(UnixDomainSocketAddress.of(target));
        OutputStream out = dev.vmctl.agent.ChannelStreams.out(host);
        out.write(("OK " + (40000 + port) + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread up =
            new Thread(
                () -> {
                  try {
                    in.transferTo(dev.vmctl.agent.ChannelStreams.out(guest));
                  } catch (IOException ignored) {
                    // closed
                  }
                });
        up.setDaemon(true);
        up.start();
        dev.vmctl.agent.ChannelStreams.in(guest).transferTo(out);
      } catch (IOException ignored) {
        // no guest listener
      }
    } catch (IOException | RuntimeException ignored) {
      // client gone
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
