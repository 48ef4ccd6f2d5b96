package dev.vmctl.node.host;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Host commands (ip, nft, lvcreate, cp, qemu, ...): the narrow interface through which the node
 * daemon changes the host. {@link ProcessCommands} runs them; tests of command construction and
 * output parsing use a recording fake with captured outputs.
 */
public interface Commands {

  /** Exit status and output of a finished command. */
  record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Thrown when a command that must succeed does not; carries its stderr. */
  final class CommandFailed extends IOException {
    public CommandFailed(List<String> argv, Result r) {
      super(String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr().strip());
    }
  }

  Result run(List<String> argv) throws IOException;

  /** Runs a command that must succeed; returns its stdout. */
  default String must(String... argv) throws IOException {
    List<String> list = List.of(argv);
    Result r = run(list);
    if (!r.ok()) {
      throw new CommandFailed(list, r);
    }
    return r.stdout();
  }

  /** A command run inside a network namespace when one is configured. */
  static List<String> inNetns(String netns, List<String> argv) {
    if (netns == null || netns.isBlank()) {
      return argv;
    }
    List<String> wrapped = new ArrayList<>(List.of("ip", "netns", "exec", netns));
    wrapped.addAll(argv);
    return wrapped;
  }
}
