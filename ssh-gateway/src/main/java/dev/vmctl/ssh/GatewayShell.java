package dev.vmctl.ssh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.ServerSession;

/**
 * The gateway's own session: one command ({@code ssh gw ls}) or an interactive shell with a prompt.
 * An unregistered key is first asked for an email address.
 */
final class GatewayShell extends StreamCommand {
  static final String PROMPT = "vmctl> ";
  private static final int REGISTER_TRIES = 3;

  private final Commands commands;
  private final dev.vmctl.gateway.Directory directory;
  private final ExecutorService threads;
  private final String command; // null for an interactive shell
  private final Revocations revocations;
  private volatile Future<?> running;
  private volatile Console console;
  private Runnable unguard = () -> {};
  private final AtomicBoolean exited = new AtomicBoolean();

  GatewayShell(
      Commands commands,
      dev.vmctl.gateway.Directory directory,
      ExecutorService threads,
      String command,
      Revocations revocations) {
    this.commands = commands;
    this.directory = directory;
    this.threads = threads;
    this.command = command;
    this.revocations = revocations;
  }

  @Override
  public void start(ChannelSession channel, Environment env) {
    ServerSession session = channel.getServerSession();
    Person person = session.getAttribute(Person.KEY);
    Caller caller =
        new Caller(
            person, directory, p -> session.setAttribute(Person.KEY, p), session.getUsername());
    boolean pty = env.getEnv().containsKey(Environment.ENV_TERM);
    Console console = new Console(out, pty ? out : err, pty);
    this.console = console;
    // Only the person's sign-in can be withdrawn from the gateway's own session; Revocations
    // checks that for the whole connection and then ends this with the reason.
    unguard = revocations.guard(session, new Revocation());
    running =
        threads.submit(
            () -> {
              int status;
              try {
                status =
                    command != null
                        ? commands.run(command, caller, console)
                        : interact(caller, console);
              } catch (UncheckedIOException e) {
                status = 1;
              } catch (RuntimeException e) {
                console.error("internal error; the gateway logged it");
                org.slf4j.LoggerFactory.getLogger(GatewayShell.class).warn("command failed", e);
                status = 1;
              }
              finish(status);
            });
  }

  /** Reports the exit status once (a revocation may have ended the session first). */
  private void finish(int status) {
    if (exited.compareAndSet(false, true)) {
      exit.onExit(status);
    }
  }

  private int interact(Caller caller, Console console) {
    LineEditor editor = new LineEditor();
    if (!caller.person().registered()) {
      console.println(
          "Welcome to vmctl! This key ("
              + caller.person().fingerprint()
              + ") is not registered yet.");
      int tries = 0;
      while (!caller.person().registered()) {
        if (tries++ == REGISTER_TRIES) {
          return 1;
        }
        console.print("Your email address: ");
        String email = readLine(editor, console);
        if (email == null) {
          return 1;
        }
        if (!email.isBlank()) {
          commands.run("register '" + email.replace("'", "") + "'", caller, console);
        }
      }
    }
    console.println("vmctl gateway; type help for commands, exit to leave.");
    int last = 0;
    while (true) {
      console.print(PROMPT);
      String line = readLine(editor, console);
      if (line == null) {
        return last;
      }
      String trimmed = line.trim();
      if (trimmed.equals("exit") || trimmed.equals("quit") || trimmed.equals("logout")) {
        return 0;
      }
      last = commands.run(trimmed, caller, console);
    }
  }

  /** The next line, or null at end of input. Ctrl-C abandons the line and starts over. */
  private String readLine(LineEditor editor, Console console) {
    try {
      while (true) {
        int b = in.read();
        if (b < 0) {
          return null;
        }
        LineEditor.Step step = editor.feed(b);
        if (console.pty() && !step.echo().isEmpty()) {
          console.rawOut().write(step.echo().getBytes(java.nio.charset.StandardCharsets.UTF_8));
          console.rawOut().flush();
        }
        if (step.endOfInput()) {
          return null;
        }
        if (step.line() != null) {
          return step.line();
        }
        if (step.interrupted()) {
          return "";
        }
      }
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public void destroy(ChannelSession channel) {
    unguard.run();
    Future<?> task = running;
    if (task != null) {
      task.cancel(true);
    }
  }

  /** Tells the person why the session ends, then stops the command. */
  private final class Revocation implements Revocations.Guarded {
    @Override
    public String withdrawn(Instant now) {
      return null;
    }

    @Override
    public void end(String reason) {
      try {
        console.error((console.pty() ? "\n" : "") + "vmctl: " + reason + "; closing this session");
      } catch (UncheckedIOException e) {
        // already gone
      }
      finish(255);
      Future<?> task = running;
      if (task != null) {
        task.cancel(true);
      }
    }

    @Override
    public boolean talks() {
      return true;
    }
  }
}
