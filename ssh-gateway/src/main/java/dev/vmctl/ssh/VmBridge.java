package dev.vmctl.ssh;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.channel.PtyChannelConfiguration;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Username routing ({@code ssh vm@gw}): the gateway logs in to the VM as the guest user with its
 * proxy key and bridges a shell (with PTY and window changes), a command, or the sftp subsystem,
 * passing the exit status back.
 */
final class VmBridge extends StreamCommand {
  private static final Logger LOG = LoggerFactory.getLogger(VmBridge.class);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** What the person asked the session for. */
  enum Mode {
    SHELL,
    EXEC,
    SUBSYSTEM
  }

  private final GatewayContext context;
  private final VmSessions sessions;
  private final ExecutorService threads;
  private final Mode mode;
  private final String argument; // the command or subsystem name
  private final Revocations revocations;
  private volatile ClientChannel vmChannel;
  private volatile boolean revoked;
  private volatile boolean destroyed; // the person's channel is gone

  VmBridge(
      GatewayContext context,
      VmSessions sessions,
      ExecutorService threads,
      Mode mode,
      String argument,
      Revocations revocations) {
    this.context = context;
    this.revocations = revocations;
    this.sessions = sessions;
    this.threads = threads;
    this.mode = mode;
    this.argument = argument;
  }

  @Override
  public void start(ChannelSession channel, Environment env) {
    Person person = channel.getSession().getAttribute(Person.KEY);
    String requested = channel.getSession().getUsername();
    threads.submit(() -> exit.onExit(bridge(channel, env, person, requested)));
  }

  private int bridge(ChannelSession channel, Environment env, Person person, String requested) {
    VmTarget.Decision decision =
        VmTarget.decide(context, person, requested, context.clock().instant());
    if (!decision.allowed()) {
      say(decision.refusal());
      return 1;
    }
    context.metrics().proxySession("user-" + mode.name().toLowerCase(java.util.Locale.ROOT));
    LOG.info("bridge user={} vm={} mode={}", person.userName(), decision.vmName(), mode);
    Runnable unguard = revocations.guard(channel.getSession(), guarded(person, decision.grant()));
    try {
      return connect(env, decision);
    } finally {
      unguard.run();
    }
  }

  private int connect(Environment env, VmTarget.Decision decision) {
    VmHostKeyCheck.Expected hostKeys = VmHostKeyCheck.Expected.of(decision.vm());
    if (hostKeys.none()) {
      say(
          "VM "
              + decision.vmName()
              + " has published no SSH host key yet, so the gateway cannot tell it is the VM;"
              + " its node daemon gives it one when it boots: restart "
              + decision.vmName());
      return 1;
    }
    VmSessions.Target target =
        new VmSessions.Target(
            decision.vm().getMetadata().getUid(),
            decision.address(),
            context.config().vmSshPort(),
            decision.vm().getStatus().sshHostKeys);
    try {
      VmSessions.Lease lease = sessions.acquire(target, hostKeys);
      ClientChannel vm;
      try {
        vm = openChannel(lease, env);
      } catch (IOException stale) {
        if (!lease.reused) {
          lease.close();
          throw stale;
        }
        // The shared connection went away (the VM restarted, say): one fresh try.
        lease.discard();
        lease = sessions.acquire(target, hostKeys);
        vm = openChannel(lease, env);
      }
      try (VmSessions.Lease held = lease;
          ClientChannel channel = vm) {
        vmChannel = channel;
        if (revoked || destroyed) {
          return 255;
        }
        if (channel instanceof ChannelShell shell) {
          env.addSignalListener((ch, signal) -> resize(shell, env), EnumSet.of(Signal.WINCH));
        }
        channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), 0L);
        if (revoked) {
          return 255;
        }
        Integer status = channel.getExitStatus();
        return status == null ? (channel.getExitSignal() != null ? 255 : 0) : status;
      }
    } catch (IOException e) {
      if (revoked) {
        return 255;
      }
      if (hostKeys.refusedFingerprint != null) {
        say(
            "refusing to connect to VM "
                + decision.vmName()
                + ": it presented SSH host key "
                + hostKeys.refusedFingerprint
                + ", not the one in its status (see: known-hosts "
                + decision.vmName()
                + "); the machine at its address may not be the VM");
        return 1;
      }
      LOG.info("bridge to vm={} failed: {}", decision.vmName(), e.toString());
      say("cannot reach VM " + decision.vmName() + ": " + e.getMessage());
      return 255;
    }
  }

  private ClientChannel openChannel(VmSessions.Lease lease, Environment env) throws IOException {
    ClientChannel vm = open(lease.session, env);
    vm.setIn(new CountingInput(in));
    vm.setOut(new KeepOpen(out, "from-vm"));
    vm.setErr(new KeepOpen(err, "from-vm"));
    try {
      vm.open().verify(CONNECT_TIMEOUT);
      return vm;
    } catch (IOException | RuntimeException e) {
      vm.close(true);
      throw e;
    }
  }

  /** Ends the bridge with a line on stderr when the grant goes (see {@link Revocations}). */
  private Revocations.Guarded guarded(Person person, Authorisation.VmGrant grant) {
    return new Revocations.Guarded() {
      @Override
      public String withdrawn(java.time.Instant now) {
        return grant.withdrawn(context.directory(), person, now);
      }

      @Override
      public void end(String reason) {
        revoked = true;
        say("\r\nvmctl: " + reason + "; closing this session");
        ClientChannel channel = vmChannel;
        if (channel != null) {
          channel.close(true); // the connection may carry other people's channels to the VM
        }
      }

      @Override
      public boolean talks() {
        return true;
      }
    };
  }

  private ClientChannel open(ClientSession session, Environment env) throws IOException {
    Map<String, String> vars = env.getEnv();
    PtyChannelConfiguration pty = new PtyChannelConfiguration();
    boolean wantsPty = vars.containsKey(Environment.ENV_TERM);
    if (wantsPty) {
      pty.setPtyType(vars.get(Environment.ENV_TERM));
      pty.setPtyColumns(number(vars.get(Environment.ENV_COLUMNS), 80));
      pty.setPtyLines(number(vars.get(Environment.ENV_LINES), 24));
      pty.setPtyModes(env.getPtyModes());
    }
    return switch (mode) {
      case SHELL -> session.createShellChannel(pty, Map.of());
      case EXEC -> {
        ChannelExec exec = session.createExecChannel(argument, pty, Map.of());
        exec.setUsePty(wantsPty);
        yield exec;
      }
      case SUBSYSTEM -> session.createSubsystemChannel(argument);
    };
  }

  private static void resize(ChannelShell shell, Environment env) {
    try {
      shell.sendWindowChange(
          number(env.getEnv().get(Environment.ENV_COLUMNS), 80),
          number(env.getEnv().get(Environment.ENV_LINES), 24));
    } catch (IOException e) {
      LOG.debug("window change not forwarded: {}", e.toString());
    }
  }

  private static int number(String value, int fallback) {
    try {
      return value == null ? fallback : Integer.parseInt(value);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  private void say(String message) {
    try {
      err.write((message + "\r\n").getBytes(StandardCharsets.UTF_8));
      err.flush();
    } catch (IOException e) {
      // the person is gone
    }
  }

  @Override
  public void destroy(ChannelSession channel) {
    destroyed = true;
    ClientChannel vm = vmChannel;
    if (vm != null) {
      vm.close(true);
    }
  }

  /** Forwards writes and counts them, but leaves closing the person's stream to the server. */
  private final class KeepOpen extends FilterOutputStream {
    private final String direction;

    KeepOpen(OutputStream target, String direction) {
      super(target);
      this.direction = direction;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      out.flush();
      context.metrics().proxied("user", direction, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

  /** Counts what the person sends to the VM. */
  private final class CountingInput extends java.io.FilterInputStream {
    CountingInput(InputStream source) {
      super(source);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        context.metrics().proxied("user", "to-vm", n);
      }
      return n;
    }
  }
}
