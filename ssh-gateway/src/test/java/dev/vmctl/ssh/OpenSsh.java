package dev.vmctl.ssh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The real OpenSSH client tools (ssh, scp, sftp, ssh-keygen), run as processes. */
final class OpenSsh {
  /** What a finished command printed and returned. */
  record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
    }
  }

  private OpenSsh() {}

  /** A fresh ed25519 key pair; returns the private key file (the public one is next to it). */
  static Path newKey(Path dir, String name) throws IOException {
    Path key = dir.resolve(name);
    run(
        null,
        20,
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        name + "@test",
        "-f",
        key.toString());
    return key;
  }

  static String publicKey(Path key) throws IOException {
    return Files.readString(Path.of(key + ".pub")).trim();
  }

  /** Options that keep the client non-interactive and away from the machine's own config. */
  static List<String> options(Path key) {
    return List.of(
        "-F", "/dev/null",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "BatchMode=yes",
        // INFO, not ERROR: OpenSSH reports a refused channel ("open failed: ...") at INFO.
        "-o", "LogLevel=INFO",
        "-o", "ConnectTimeout=10",
        "-i", key.toString());
  }

  static Result ssh(String stdin, Path key, int port, String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of("ssh"));
    argv.addAll(options(key));
    argv.addAll(List.of("-p", String.valueOf(port)));
    argv.addAll(List.of(args));
    return run(stdin, 60, argv.toArray(String[]::new));
  }

  static Result run(String stdin, int timeoutSeconds, String... argv) throws IOException {
    Process p = new ProcessBuilder(argv).start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      // the process may exit without reading its input
    }
    try {
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", argv) + " timed out: " + err.getNow(""));
      }
      // Drop the client's own known-hosts notice; keep everything the gateway sent.
      String errors = err.join().replaceAll("(?m)^Warning: Permanently added .*\\R", "");
      return new Result(p.exitValue(), out.join(), errors);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted", e);
    }
  }

  private static String read(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
