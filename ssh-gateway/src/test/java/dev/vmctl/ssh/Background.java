package dev.vmctl.ssh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client process (ssh) that keeps running while the test does something else: output is collected
 * as it arrives, stdin stays open until {@link #send} or {@link #close}.
 */
final class Background implements AutoCloseable {
  private final Process process;
  private final StringBuffer out = new StringBuffer();
  private final StringBuffer err = new StringBuffer();
  private final OutputStream stdin;

  private Background(Process process) {
    this.process = process;
    this.stdin = process.getOutputStream();
    pump(process.getInputStream(), out);
    pump(process.getErrorStream(), err);
  }

  static Background start(Map<String, String> env, List<String> argv) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(argv);
    builder.environment().putAll(env);
    return new Background(builder.start());
  }

  /** {@code ssh <options for key> -p port args...} */
  static Background ssh(Path key, int port, String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of("ssh"));
    argv.addAll(OpenSsh.options(key));
    argv.addAll(List.of("-p", String.valueOf(port)));
    argv.addAll(List.of(args));
    return start(Map.of(), argv);
  }

  String out() {
    return out.toString();
  }

  String err() {
    return err.toString();
  }

  boolean alive() {
    return process.isAlive();
  }

  int exitValue() {
    return process.exitValue();
  }

  /** Whether the process ended within {@code wait}. */
  boolean endsWithin(Duration wait) throws InterruptedException {
    return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  void send(String text) throws IOException {
    stdin.write(text.getBytes(StandardCharsets.UTF_8));
    stdin.flush();
  }

  @Override
  public void close() {
    try {
      stdin.close();
    } catch (IOException e) {
      // already gone
    }
    process.destroyForcibly();
  }

  @Override
  public String toString() {
    return "alive=" + alive() + "\nstdout:\n" + out + "\nstderr:\n" + err;
  }

  private static void pump(InputStream from, StringBuffer into) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[4096];
              try (from) {
                int n;
                while ((n = from.read(buf)) > 0) {
                  into.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
              } catch (IOException e) {
                // process gone
              }
            });
    t.setDaemon(true);
    t.start();
  }
}
