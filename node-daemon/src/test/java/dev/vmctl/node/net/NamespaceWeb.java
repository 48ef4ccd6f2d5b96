package dev.vmctl.node.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Web servers and links in network namespaces a test created, for tests of what can reach what
 * (NetworkHostTest with namespaces as guests, VmLifeGuestTest with a real guest).
 */
public final class NamespaceWeb {
  private NamespaceWeb() {}

  /**
   * A veth from {@code host} to the namespace {@code outside} (the world beyond the host): {@code
   * <prefix>.1/24} on the host side ({@code vo}), {@code <prefix>.2/24} outside.
   */
  public static void linkOutside(String host, String outside, String prefix)
      throws IOException, InterruptedException {
    must(
        "ip", "-n", host, "link", "add", "vo", "type", "veth", "peer", "name", "eth0", "netns",
        outside);
    must("ip", "-n", host, "addr", "add", prefix + ".1/24", "dev", "vo");
    must("ip", "-n", host, "link", "set", "vo", "up");
    must("ip", "-n", outside, "addr", "add", prefix + ".2/24", "dev", "eth0");
    must("ip", "-n", outside, "link", "set", "eth0", "up");
  }

  /**
   * busybox httpd on every address of {@code ns}, serving {@code root}; returns once it answers
   * inside the namespace (10 s at most). The caller ends the process.
   */
  public static Process serve(String ns, int port, Path root)
      throws IOException, InterruptedException {
    Files.createDirectories(root);
    Files.writeString(root.resolve("index.html"), "hello from " + ns + "\n");
    Process server =
        new ProcessBuilder(
                "ip",
                "netns",
                "exec",
                ns,
                "busybox",
                "httpd",
                "-f",
                "-p",
                "0.0.0.0:" + port,
                "-h",
                root.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!fetch(ns, "127.0.0.1", port) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return server;
  }

  /** Whether an HTTP GET from namespace {@code from} to {@code address:port} succeeds in 2 s. */
  public static boolean fetch(String from, String address, int port)
      throws IOException, InterruptedException {
    return run(
            "ip",
            "netns",
            "exec",
            from,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "2",
            "http://" + address + ":" + port + "/")
        == 0;
  }

  private static void must(String... argv) throws IOException, InterruptedException {
    if (run(argv) != 0) {
      throw new IOException(String.join(" ", argv) + " failed");
    }
  }

  private static int run(String... argv) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(argv));
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }
}
