package dev.vmctl.node.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs host commands: the one place the node daemon touches the host's tools. */
public class Commands {

  /** Exit status and output of a finished command. */
  public record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Thrown when a command that must succeed does not; carries its stderr. */
  public static final class CommandFailed extends IOException {
    public CommandFailed(List<String> argv, Result r) {
      super(String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr().strip());
    }
  }

  public Result run(List<String> argv) throws IOException {
    Process p = new ProcessBuilder(argv).start();
    p.getOutputStream().close();
    var out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    var err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", argv) + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  /** Runs a command that must succeed. */
  public String must(String... argv) throws IOException {
    List<String> list = List.of(argv);
    Result r = run(list);
    if (!r.ok()) {
      throw new CommandFailed(list, r);
    }
    return r.stdout();
  }

  /** A command run inside a network namespace when one is configured. */
  public static List<String> inNetns(String netns, List<String> argv) {
    if (netns == null || netns.isBlank()) {
      return argv;
    }
    List<String> wrapped = new ArrayList<>(List.of("ip", "netns", "exec", netns));
    wrapped.addAll(argv);
    return wrapped;
  }

  private static String read(java.io.InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
