package dev.vmctl.ssh;

import dev.vmctl.gateway.Directory;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.session.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends what is open on behalf of a person once its authorisation is withdrawn: deleting or
 * disabling the User, or removing the key a session signed in with, ends that person's sessions;
 * revoking (deleting or expiring) the Share, or deleting the VM, ends the channels into that VM
 * (ProxyJump tunnels and username-routed sessions). Re-checked shortly after every change the
 * {@link Directory}'s informers see, and every {@code sweep} for what changes with time alone (a
 * Share's expiry).
 */
final class Revocations implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);
  private static final AttributeKey<Set<Guarded>> OPEN = new AttributeKey<>();

  /** Changes come in bursts (a Share delete is an update, then a delete): check once after. */
  private static final Duration SETTLE = Duration.ofMillis(100);

  /** How long a revoked shell's last words get before the connection is dropped. */
  private static final Duration FLUSH = Duration.ofSeconds(1);

  /** Something open on a session for its person (a channel), ended when its grant goes. */
  interface Guarded {
    /**
     * Null while what let it open still holds (the person's sign-in is checked before), else the
     * reason as a sentence for the person.
     */
    String withdrawn(Instant now);

    /**
     * Ends it, telling the person the reason where the protocol allows; a talking one closes its
     * channel with a non-zero exit status.
     */
    void end(String reason);

    /** Whether it has a stream to tell the person on (shell, command); a tunnel has not. */
    boolean talks();
  }

  private final Directory directory;
  private final Supplier<? extends Collection<? extends Session>> sessions;
  private final Clock clock;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(SshGateway.named("vmctl-ssh-revoke-"));
  private final AtomicBoolean pending = new AtomicBoolean();

  Revocations(
      Directory directory,
      Supplier<? extends Collection<? extends Session>> sessions,
      Clock clock) {
    this.directory = directory;
    this.sessions = sessions;
    this.clock = clock;
  }

  /** Starts re-checking on every Directory change and every {@code sweep}. */
  void start(Duration sweep) {
    directory.onChange(this::soon);
    timer.scheduleWithFixedDelay(
        this::checkAll, sweep.toMillis(), sweep.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Watches {@code guarded} on {@code session}; returns what to run when it closes. */
  Runnable guard(Session session, Guarded guarded) {
    Set<Guarded> open = session.computeAttributeIfAbsent(OPEN, k -> ConcurrentHashMap.newKeySet());
    open.add(guarded);
    return () -> open.remove(guarded);
  }

  private void soon() {
    if (pending.compareAndSet(false, true)) {
      try {
        timer.schedule(
            () -> {
              pending.set(false);
              checkAll();
            },
            SETTLE.toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        pending.set(false); // closing
      }
    }
  }

  void checkAll() {
    Instant now = clock.instant();
    for (Session session : List.copyOf(sessions.get())) {
      try {
        check(session, now);
      } catch (RuntimeException e) {
        LOG.warn("re-checking a session failed", e);
      }
    }
  }

  private void check(Session session, Instant now) {
    Person person = session.getAttribute(Person.KEY);
    if (person == null || !person.registered() || !session.isOpen()) {
      return; // an unregistered key can only register; nothing was granted to it
    }
    Set<Guarded> open = session.getAttribute(OPEN);
    List<Guarded> guarded = open == null ? List.of() : List.copyOf(open);
    String signIn = Authorisation.personWithdrawn(directory, person);
    if (signIn != null) {
      LOG.info("session ended user={} reason={}", person.userName(), signIn);
      guarded.forEach(g -> g.end(signIn));
      if (guarded.stream().anyMatch(Guarded::talks)) {
        // Their channels are closing with the reason on stderr; a disconnect sent right away can
        // overtake that text, so it follows a moment later. New channels are refused meanwhile
        // (every channel open checks the sign-in).
        later(() -> disconnect(session, signIn));
      } else {
        disconnect(session, signIn);
      }
      return;
    }
    Map<Guarded, String> ending = new LinkedHashMap<>();
    for (Guarded g : guarded) {
      String why = g.withdrawn(now);
      if (why != null) {
        ending.put(g, why);
        LOG.info("channel ended user={} reason={}", person.userName(), why);
      }
    }
    if (!ending.isEmpty()
        && ending.size() == guarded.size()
        && ending.keySet().stream().noneMatch(Guarded::talks)) {
      // Only tunnels, all revoked (ssh -J): the disconnect message is the one thing OpenSSH shows.
      disconnect(session, ending.values().iterator().next());
    } else {
      ending.forEach(Guarded::end);
    }
  }

  private void later(Runnable task) {
    try {
      timer.schedule(task, FLUSH.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      task.run(); // closing
    }
  }

  private static void disconnect(Session session, String reason) {
    try {
      session.disconnect(SshConstants.SSH2_DISCONNECT_BY_APPLICATION, "vmctl: " + reason);
    } catch (IOException e) {
      session.close(true);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
