package dev.vmctl.ssh;

import java.io.IOException;
import java.security.KeyPair;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.session.ClientSession;

/**
 * Logged-in connections to VMs, shared by the routed sessions to the same VM: a routed session
 * opens a channel on a connection that already did its key exchange and login instead of making one
 * of its own (username routing's set-up was +85-95 ms over direct SSH with a connection per
 * session; docs/benchmarks.md). Sharing gives nobody more than their own: every person gets the
 * same login on a VM (the guest user, by the gateway's proxy key), and who may reach the VM is
 * decided per session before a channel is opened ({@link VmTarget}). A connection belongs to one VM
 * object, address and set of published host keys: a new VM at an old address, or new keys, get a
 * connection of their own. A connection with no channel closes after {@link #IDLE}.
 */
final class VmSessions implements AutoCloseable {
  static final Duration IDLE = Duration.ofSeconds(60);
  // OpenSSH's sshd takes 10 sessions per connection (MaxSessions); more get a connection each.
  static final int CHANNELS_PER_CONNECTION = 8;

  /** Which VM a connection is to. */
  record Target(String uid, String address, int port, List<String> hostKeys) {}

  private final SshClient client;
  private final KeyPair proxyKey;
  private final String user;
  private final Duration timeout;
  private final Map<Target, Shared> shared = new HashMap<>();
  private final ScheduledExecutorService closer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "vmctl-vm-connections");
            t.setDaemon(true);
            return t;
          });

  VmSessions(SshClient client, KeyPair proxyKey, String user, Duration timeout) {
    this.client = client;
    this.proxyKey = proxyKey;
    this.user = user;
    this.timeout = timeout;
  }

  /** A connection for one channel; close the lease when the channel is done. */
  final class Lease implements AutoCloseable {
    final ClientSession session;
    final boolean reused;
    private final Shared owner; // null: a connection of its own, closed with the lease
    private boolean closed;

    private Lease(ClientSession session, boolean reused, Shared owner) {
      this.session = session;
      this.reused = reused;
      this.owner = owner;
    }

    /** The connection failed under this lease: nobody else gets it. */
    void discard() {
      if (owner != null) {
        forget(owner);
      }
      session.close(true);
    }

    @Override
    public void close() {
      synchronized (VmSessions.this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      if (owner == null) {
        session.close(false);
      } else {
        release(owner);
      }
    }
  }

  private static final class Shared {
    final Target target;
    final CompletableFuture<ClientSession> session = new CompletableFuture<>();
    final VmHostKeyCheck.Expected expected;
    int channels;
    ScheduledFuture<?> idleClose;

    Shared(Target target, VmHostKeyCheck.Expected expected) {
      this.target = target;
      this.expected = expected;
    }

    boolean usable() {
      if (!session.isDone()) {
        return true;
      }
      if (session.isCompletedExceptionally()) {
        return false;
      }
      return session.join().isOpen();
    }
  }

  /**
   * A logged-in connection to the VM, reused when one is open. Checks the VM's host key against
   * {@code expected} when it connects (and records a refused key there).
   */
  Lease acquire(Target target, VmHostKeyCheck.Expected expected) throws IOException {
    Shared entry;
    boolean connectHere = false;
    synchronized (this) {
      entry = shared.get(target);
      if (entry != null && !entry.usable()) {
        shared.remove(target);
        entry = null;
      }
      if (entry != null && entry.channels >= CHANNELS_PER_CONNECTION) {
        entry = null; // a connection of its own, made below, outside the lock
      } else if (entry == null) {
        entry = new Shared(target, expected);
        shared.put(target, entry);
        connectHere = true;
      }
      if (entry != null) {
        entry.channels++;
        if (entry.idleClose != null) {
          entry.idleClose.cancel(false);
          entry.idleClose = null;
        }
      }
    }
    if (entry == null) {
      return new Lease(connect(target, expected), false, null);
    }
    if (connectHere) {
      try {
        entry.session.complete(connect(target, expected));
      } catch (IOException | RuntimeException e) {
        entry.session.completeExceptionally(e);
      }
    }
    try {
      ClientSession session = entry.session.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return new Lease(session, !connectHere, entry);
    } catch (ExecutionException e) {
      forget(entry);
      expected.refusedFingerprint = entry.expected.refusedFingerprint;
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (TimeoutException e) {
      release(entry);
      throw new IOException("no connection to the VM within " + timeout.toSeconds() + " s");
    } catch (InterruptedException e) {
      release(entry);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while connecting to the VM");
    }
  }

  private ClientSession connect(Target target, VmHostKeyCheck.Expected expected)
      throws IOException {
    ClientSession session =
        client
            .connect(user, target.address(), target.port(), expected.asContext())
            .verify(timeout)
            .getSession();
    try {
      session.addPublicKeyIdentity(proxyKey);
      session.auth().verify(timeout);
      return session;
    } catch (IOException | RuntimeException e) {
      session.close(true);
      throw e;
    }
  }

  private void release(Shared entry) {
    synchronized (this) {
      entry.channels--;
      if (entry.channels > 0 || shared.get(entry.target) != entry) {
        return;
      }
      entry.idleClose =
          closer.schedule(() -> closeIfIdle(entry), IDLE.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void closeIfIdle(Shared entry) {
    synchronized (this) {
      if (entry.channels > 0 || shared.get(entry.target) != entry) {
        return;
      }
      shared.remove(entry.target);
    }
    entry.session.thenAccept(s -> s.close(false));
  }

  private synchronized void forget(Shared entry) {
    shared.remove(entry.target, entry);
  }

  /** How many shared connections are open or being made (for tests and metrics). */
  synchronized int connections() {
    return shared.size();
  }

  @Override
  public void close() {
    List<Shared> all;
    synchronized (this) {
      all = List.copyOf(shared.values());
      shared.clear();
    }
    all.forEach(e -> e.session.thenAccept(s -> s.close(true)));
    closer.shutdownNow();
  }
}
