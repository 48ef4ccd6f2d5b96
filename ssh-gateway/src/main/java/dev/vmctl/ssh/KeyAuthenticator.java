package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SshKeys;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.auth.pubkey.PublickeyAuthenticator;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Public-key authentication only. A key's fingerprint finds its User in the informer index (no API
 * call per login); an unknown key is let in to register and nothing else. Disabled Users, sources
 * with too many failures and Users over their session cap are refused.
 */
final class KeyAuthenticator implements PublickeyAuthenticator, SessionListener {
  private static final Logger LOG = LoggerFactory.getLogger(KeyAuthenticator.class);
  private static final AttributeKey<String> COUNTED = new AttributeKey<>();
  private static final AttributeKey<Duration> REFUSED = new AttributeKey<>();
  private static final AttributeKey<Boolean> KEYS_EXCHANGED = new AttributeKey<>();

  private final Directory directory;
  private final FailureLimiter failures;
  private final GatewayMetrics metrics;
  private final int maxSessionsPerUser;
  private final Map<String, AtomicInteger> sessionsPerUser = new ConcurrentHashMap<>();

  KeyAuthenticator(
      Directory directory,
      FailureLimiter failures,
      GatewayMetrics metrics,
      int maxSessionsPerUser) {
    this.directory = directory;
    this.failures = failures;
    this.metrics = metrics;
    this.maxSessionsPerUser = maxSessionsPerUser;
  }

  @Override
  public boolean authenticate(String username, PublicKey key, ServerSession session) {
    String source = source(session.getIoSession().getRemoteAddress());
    if (failures.blocked(source)) {
      metrics.authFailure("rate-limited");
      return false;
    }
    ByteArrayBuffer blob = new ByteArrayBuffer();
    blob.putRawPublicKey(key);
    String fingerprint = SshKeys.fingerprintOfBlob(blob.getCompactData());
    Optional<User> user = directory.userByFingerprint(fingerprint);
    if (user.isEmpty()) {
      // Unknown (or ambiguous) key: in to register only; registration refuses a key that is taken.
      session.setAttribute(Person.KEY, new Person(null, PublicKeyEntry.toString(key), fingerprint));
      return true;
    }
    String name = user.get().getMetadata().getName();
    if (!Access.usable(user.get())) {
      fail(source, "disabled", name);
      return false;
    }
    if (!name.equals(session.getAttribute(COUNTED))) {
      AtomicInteger count = sessionsPerUser.computeIfAbsent(name, n -> new AtomicInteger());
      if (count.incrementAndGet() > maxSessionsPerUser) {
        count.decrementAndGet();
        metrics.authFailure("session-cap");
        LOG.info("refused user={}: {} sessions open", name, maxSessionsPerUser);
        return false;
      }
      session.setAttribute(COUNTED, name);
    }
    session.setAttribute(Person.KEY, new Person(name, PublicKeyEntry.toString(key), fingerprint));
    return true;
  }

  /** Counts an authentication that failed for a reason other than the key (e.g. disabled). */
  void fail(String source, String reason, String user) {
    failed(source);
    metrics.authFailure(reason);
    LOG.info("auth failed source={} user={} reason={}", source, user, reason);
  }

  private void failed(String source) {
    if (failures.failed(source)) {
      LOG.info(
          "source={} blocked for {}: too many failed logins",
          source,
          failures.blockedFor(source).map(KeyAuthenticator::human).orElse("a moment"));
    }
  }

  @Override
  public void sessionCreated(Session session) {
    metrics.connected();
    String source = source(session.getIoSession().getRemoteAddress());
    failures
        .blockedFor(source)
        .ifPresent(
            d -> {
              metrics.authFailure("rate-limited");
              session.setAttribute(REFUSED, d); // told why once the key exchange is done
            });
  }

  /**
   * A refused source is told why and for how long: a disconnect message after the key exchange,
   * which OpenSSH prints ("Received disconnect from …"). Before it, OpenSSH would only see a reset.
   */
  @Override
  public void sessionEvent(Session session, Event event) {
    if (event != Event.KexCompleted) {
      return;
    }
    session.setAttribute(KEYS_EXCHANGED, true);
    Duration refused = session.getAttribute(REFUSED);
    if (refused == null) {
      return;
    }
    try {
      session.disconnect(
          SshConstants.SSH2_DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT,
          "too many failed logins from "
              + source(session.getIoSession().getRemoteAddress())
              + "; try again in "
              + human(refused));
    } catch (IOException e) {
      session.close(true);
    }
  }

  /**
   * A session that got through the key exchange and closed without authenticating is a failed
   * login. A bare TCP connect (a readiness probe) or garbage never gets that far, so never counts.
   */
  @Override
  public void sessionClosed(Session session) {
    metrics.disconnected();
    String counted = session.getAttribute(COUNTED);
    if (counted != null) {
      sessionsPerUser.getOrDefault(counted, new AtomicInteger(1)).decrementAndGet();
    }
    if (!session.isAuthenticated()
        && session.getAttribute(KEYS_EXCHANGED) != null
        && session.getAttribute(REFUSED) == null) {
      failed(source(session.getIoSession().getRemoteAddress()));
      metrics.authFailure("unauthenticated");
    }
  }

  static String human(Duration d) {
    long s = Math.max(1, d.toSeconds());
    return s >= 60 ? (s + 59) / 60 + " min" : s + " s";
  }

  static String source(SocketAddress address) {
    return address instanceof InetSocketAddress inet
        ? inet.getAddress().getHostAddress()
        : String.valueOf(address);
  }
}
