package dev.vmctl.ssh;

import dev.vmctl.testkit.Shell;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real OpenSSH sshd standing in for a VM: in its own network namespace ({@code vmctl-t-<random>})
 * reached through a veth pair from the host, like a VM on its host's bridge. Needs root. Everything
 * is removed on close, also after a failed start. {@link #onLoopback} runs the same sshd on the
 * host's loopback instead: OpenSSH as a jump host, the anchor the gateway's benchmark compares
 * with.
 */
final class NetnsSshd implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration T = Duration.ofSeconds(20);

  final String netns;
  final String hostVeth;
  final String address;
  final int port;
  final Path dir;
  private Process sshd;

  NetnsSshd(Path parent, List<String> authorizedKeys) throws IOException {
    this(parent, authorizedKeys, true);
  }

  /** An sshd on 127.0.0.1 and a free port, in the host's own namespace (no veth, no netns). */
  static NetnsSshd onLoopback(Path parent, List<String> authorizedKeys) throws IOException {
    return new NetnsSshd(parent, authorizedKeys, false);
  }

  private NetnsSshd(Path parent, List<String> authorizedKeys, boolean ownNamespace)
      throws IOException {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException("NetnsSshd needs root (network namespaces); run as root");
    }
    if (!Files.isExecutable(Path.of("/usr/sbin/sshd"))) {
      throw new IllegalStateException(
          "/usr/sbin/sshd is missing: apt-get install openssh-server openssh-sftp-server");
    }
    byte[] id = new byte[3];
    RANDOM.nextBytes(id);
    String hex = HexFormat.of().formatHex(id);
    netns = ownNamespace ? "vmctl-t-" + hex : null;
    hostVeth = ownNamespace ? "vt" + hex + "h" : null;
    // 10.201-250.x.y/30 from the random id: unlikely to collide with parallel tests.
    int a = 201 + (id[0] & 0xff) % 50;
    int b = id[1] & 0xff;
    int c = (id[2] & 0x3f) * 4;
    String hostIp = "10." + a + "." + b + "." + (c + 1);
    address = ownNamespace ? "10." + a + "." + b + "." + (c + 2) : "127.0.0.1";
    port = ownNamespace ? 22 : freePort();
    dir = Files.createTempDirectory(parent, "sshd-");
    try {
      if (ownNamespace) {
        Shell.run(T, "ip", "netns", "add", netns);
        Shell.run(
            T, "ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "vt" + hex + "g");
        Shell.run(T, "ip", "link", "set", "vt" + hex + "g", "netns", netns);
        Shell.run(T, "ip", "addr", "add", hostIp + "/30", "dev", hostVeth);
        Shell.run(T, "ip", "link", "set", hostVeth, "up");
        Shell.run(T, "ip", "-n", netns, "addr", "add", address + "/30", "dev", "vt" + hex + "g");
        Shell.run(T, "ip", "-n", netns, "link", "set", "vt" + hex + "g", "up");
        Shell.run(T, "ip", "-n", netns, "link", "set", "lo", "up");
      }
      Files.createDirectories(Path.of("/run/sshd"));
      Shell.run(
          T,
          "ssh-keygen",
          "-q",
          "-t",
          "ed25519",
          "-N",
          "",
          "-f",
          dir.resolve("host_key").toString());
      Files.writeString(dir.resolve("authorized_keys"), String.join("\n", authorizedKeys) + "\n");
      Files.writeString(
          dir.resolve("sshd_config"),
          String.join(
              "\n",
              "ListenAddress " + address,
              "Port " + port,
              "HostKey " + dir.resolve("host_key"),
              "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
              "PasswordAuthentication no",
              "KbdInteractiveAuthentication no",
              "PermitRootLogin prohibit-password",
              "StrictModes no",
              "UsePAM no",
              "PidFile none",
              "Subsystem sftp /usr/lib/openssh/sftp-server",
              // Accepts whatever environment a client sends, so that a test can see that the
              // gateway passes none on (a real guest's sshd may be configured like this).
              "AcceptEnv *",
              // Sessions log in as root on this host's filesystem: with root's own HOME, bash
              // would source the machine's ~/.bashrc (pyenv init, whose rehash lock, left by a
              // killed session, made every later login wait 60 s). A home of its own instead.
              "SetEnv HOME=" + dir,
              ""));
      List<String> argv =
          List.of("/usr/sbin/sshd", "-D", "-e", "-f", dir.resolve("sshd_config").toString());
      if (ownNamespace) {
        argv = Stream.concat(Stream.of("ip", "netns", "exec", netns), argv.stream()).toList();
      }
      sshd =
          new ProcessBuilder(argv)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("sshd.log").toFile())
              .start();
      waitForPort();
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The host key sshd presents, as a public key line without comment. */
  String hostKey() throws IOException {
    String[] fields = Files.readString(dir.resolve("host_key.pub")).strip().split("\\s+");
    return fields[0] + " " + fields[1];
  }

  private void waitForPort() throws IOException {
    long deadline = System.nanoTime() + T.toNanos();
    while (System.nanoTime() < deadline) {
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress(address, port), 500);
        return;
      } catch (IOException e) {
        if (!sshd.isAlive()) {
          throw new IOException("sshd exited: " + Files.readString(dir.resolve("sshd.log")));
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IOException(ie);
        }
      }
    }
    throw new IOException("sshd did not listen on " + address + ":" + port);
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    if (sshd != null) {
      sshd.descendants().forEach(ProcessHandle::destroyForcibly);
      sshd.destroyForcibly();
      try {
        sshd.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (netns == null) {
      return;
    }
    try {
      Shell.succeeds(T, "ip", "netns", "pids", netns); // nothing else should be left in it
      for (String pid : Shell.run(T, "ip", "netns", "pids", netns).trim().split("\\s+")) {
        if (!pid.isBlank()) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the namespace may not exist if setup failed early
    }
    try {
      Shell.succeeds(T, "ip", "link", "del", hostVeth);
      Shell.succeeds(T, "ip", "netns", "del", netns);
    } catch (IOException e) {
      System.err.println("cleanup of " + netns + " failed: " + e.getMessage());
    }
  }
}
