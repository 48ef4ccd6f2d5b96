package dev.vmctl.gateway;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short, tamper-proof tokens the two gateways hand each other through the user's browser: the SSH
 * gateway's {@code login} command issues a {@link Purpose#LOGIN} token, the HTTPS gateway checks it
 * and answers with a {@link Purpose#SESSION} cookie. Both sign with HMAC-SHA256 under the shared
 * gateway key ({@link GatewayKey}); nothing is stored, so any replica can verify.
 *
 * <p>Format: {@code base64url(v1 \n purpose \n subject \n expiresEpochSecond \n nonce)} {@code .}
 * {@code base64url(hmac)}. The purpose is signed too, so a login token never works as a session.
 * The nonce is {@link #NONCE_BYTES} random bytes, base64url without padding.
 */
public final class SignedTokens {
  /** What a token may be used for. */
  public enum Purpose {
    LOGIN,
    SESSION
  }

  /** A verified token's contents. The nonce lets a verifier enforce single use. */
  public record Claims(Purpose purpose, String subject, Instant expiresAt, String nonce) {}

  /** Longer input is rejected before any decoding: tokens arrive from untrusted clients. */
  public static final int MAX_LENGTH = 512;

  /** 128 bits from {@link SecureRandom}: single use and logout are keyed on the nonce. */
  public static final int NONCE_BYTES = 16;

  private static final int NONCE_CHARS = (NONCE_BYTES * 8 + 5) / 6; // base64url, no padding

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  private final SecretKeySpec key;
  private final Clock clock;

  public SignedTokens(byte[] key, Clock clock) {
    if (key.length < 32) {
      throw new IllegalArgumentException("the gateway key must be at least 32 bytes");
    }
    this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
    this.clock = clock;
  }

  /** A token for {@code subject} (a User name) that expires after {@code ttl}. */
  public String issue(Purpose purpose, String subject, Duration ttl) {
    if (subject.isEmpty() || subject.contains("\n")) {
      throw new IllegalArgumentException("bad subject");
    }
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    long expires = clock.instant().plus(ttl).getEpochSecond();
    String payload =
        "v1\n" + purpose + "\n" + subject + "\n" + expires + "\n" + B64.encodeToString(nonce);
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    return B64.encodeToString(bytes) + "." + B64.encodeToString(mac(bytes));
  }

  /**
   * The claims of a genuine, unexpired token issued for {@code expected}; empty for anything else
   * (forged, truncated, expired, wrong purpose, garbage). Never throws on bad input.
   */
  public Optional<Claims> verify(String token, Purpose expected) {
    if (token == null || token.length() > MAX_LENGTH) {
      return Optional.empty();
    }
    int dot = token.indexOf('.');
    if (dot <= 0 || dot != token.lastIndexOf('.')) {
      return Optional.empty();
    }
    byte[] payload;
    byte[] signature;
    try {
      payload = B64D.decode(token.substring(0, dot));
      signature = B64D.decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (!MessageDigest.isEqual(mac(payload), signature)) {
      return Optional.empty();
    }
    String[] parts = new String(payload, StandardCharsets.UTF_8).split("\n", -1);
    if (parts.length != 5 || !"v1".equals(parts[0]) || !expected.name().equals(parts[1])) {
      return Optional.empty();
    }
    Instant expires;
    try {
      expires = Instant.ofEpochSecond(Long.parseLong(parts[3]));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    if (!clock.instant().isBefore(expires) || !wellFormedNonce(parts[4])) {
      return Optional.empty();
    }
    return Optional.of(new Claims(expected, parts[2], expires, parts[4]));
  }

  /**
   * A nonce of {@link #NONCE_BYTES} bytes. Tokens issued before nonces were random carried {@code
   * [B@...} text that two tokens could share; they are refused (their holders log in again).
   */
  private static boolean wellFormedNonce(String nonce) {
    if (nonce.length() != NONCE_CHARS) {
      return false;
    }
    try {
      byte[] bytes = B64D.decode(nonce);
      return bytes.length == NONCE_BYTES && B64.encodeToString(bytes).equals(nonce); // canonical
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private byte[] mac(byte[] payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(payload);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
