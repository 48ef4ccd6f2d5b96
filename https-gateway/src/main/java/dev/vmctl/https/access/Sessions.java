package dev.vmctl.https.access;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.gateway.SignedTokens.Claims;
import dev.vmctl.gateway.SignedTokens.Purpose;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Login tokens in, session cookies out; and who a request's cookies say the visitor is. */
public final class Sessions {
  public static final Duration SESSION_TTL = Duration.ofDays(7);

  private final SignedTokens tokens;
  private final Directory directory;
  private final UsedNonces usedLogins;
  private final UsedNonces revokedSessions;

  public Sessions(
      SignedTokens tokens, Directory directory, UsedNonces usedLogins, UsedNonces revokedSessions) {
    this.tokens = tokens;
    this.directory = directory;
    this.usedLogins = usedLogins;
    this.revokedSessions = revokedSessions;
  }

  /**
   * Redeems a one-time login token: a fresh session token for its User, or empty when the token is
   * not genuine, expired, already used, or its User cannot sign in.
   */
  public Optional<String> redeem(String loginToken) {
    Optional<Claims> claims = tokens.verify(loginToken, Purpose.LOGIN);
    if (claims.isEmpty()) {
      return Optional.empty();
    }
    if (!usable(claims.get().subject())) {
      return Optional.empty();
    }
    if (!usedLogins.markUsed(claims.get().nonce(), claims.get().expiresAt())) {
      return Optional.empty();
    }
    return Optional.of(tokens.issue(Purpose.SESSION, claims.get().subject(), SESSION_TTL));
  }

  /** Signs a session out for good (on this replica): its nonce is refused until it expires. */
  public void revoke(String sessionToken) {
    tokens
        .verify(sessionToken, Purpose.SESSION)
        .ifPresent(c -> revokedSessions.markUsed(c.nonce(), c.expiresAt()));
  }

  /** The visitor described by a request's Cookie headers. */
  public Visitor visitor(List<String> cookieHeaders) {
    if (cookieHeaders.isEmpty()) {
      return Visitor.ANONYMOUS;
    }
    Map<String, String> cookies = Cookies.parse(cookieHeaders);
    User user = null;
    String session = Visitor.cookie(cookies, Cookies.SESSION);
    if (session != null) {
      user =
          tokens
              .verify(session, Purpose.SESSION)
              .filter(c -> !revokedSessions.isUsed(c.nonce()))
              .flatMap(c -> directory.user(c.subject()))
              .filter(Access::usable)
              .orElse(null);
    }
    return new Visitor(user, Visitor.cookie(cookies, Cookies.LINK));
  }

  private boolean usable(String userName) {
    return directory.user(userName).filter(Access::usable).isPresent();
  }
}
