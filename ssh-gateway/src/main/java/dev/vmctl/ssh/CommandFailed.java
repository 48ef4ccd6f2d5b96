package dev.vmctl.ssh;

/** A command that cannot be done for a reason the person should read (exit status 1). */
public final class CommandFailed extends Exception {
  public CommandFailed(String message) {
    super(message);
  }

  public static CommandFailed noVm(String name) {
    return new CommandFailed("no VM named " + name);
  }
}
