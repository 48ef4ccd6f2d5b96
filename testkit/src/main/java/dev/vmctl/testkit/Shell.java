package dev.vmctl.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Host commands and prepared artifacts for tests that run as root on real host resources. */
public final class Shell {
  private Shell() {}

  /**
   * The path in environment variable {@code name} (set by hack/test.sh); fails with what to run
   * when it is missing, so a test never silently skips.
   */
  public static String requiredPath(String name) {
    String value = System.getenv(name);
    if (value == null || value.isBlank() || !Files.exists(Path.of(value))) {
      throw new IllegalStateException(
          name
              + " is not set to an existing path. Run the tests through hack/test.sh, which builds"
              + " the guest kernel (hack/guest-kernel.sh), the base image (hack/build-image.sh) and"
              + " vhost-device-vsock (hack/guest-tools.sh).");
    }
    return value;
  }

  /** Runs a command that must succeed within {@code timeout}; returns stdout and stderr. */
  public static String run(Duration timeout, String... argv) throws IOException {
    Outcome o = execute(timeout, argv);
    if (!o.ok()) {
      throw new IOException(String.join(" ", argv) + " failed: " + o.output());
    }
    return o.output();
  }

  /** Whether a command succeeds within {@code timeout}. */
  public static boolean succeeds(Duration timeout, String... argv) throws IOException {
    return execute(timeout, argv).ok();
  }

  private record Outcome(boolean ok, String output) {}

  private static Outcome execute(Duration timeout, String... argv) throws IOException {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    p.getOutputStream().close();
    // Read concurrently, so the timeout holds even for a command that never closes its output.
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Outcome(false, "timed out after " + timeout.toSeconds() + "s");
      }
      return new Outcome(p.exitValue() == 0, out.join());
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
