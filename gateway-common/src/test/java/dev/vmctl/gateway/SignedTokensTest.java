package dev.vmctl.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.gateway.SignedTokens.Purpose;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SignedTokensTest {
  private static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");
  private final byte[] key = filled(7);
  private final SignedTokens tokens = new SignedTokens(key, Clock.fixed(T0, ZoneOffset.UTC));

  @Test
  void issuedTokenVerifiesWithItsPurposeAndSubject() {
    String token = tokens.issue(Purpose.LOGIN, "ada", Duration.ofMinutes(5));
    var claims = tokens.verify(token, Purpose.LOGIN).orElseThrow();
    assertThat(claims.subject()).isEqualTo("ada");
    assertThat(claims.expiresAt()).isEqualTo(T0.plusSeconds(300));
    assertThat(claims.nonce()).isNotBlank();
    assertThat(token).hasSizeLessThan(SignedTokens.MAX_LENGTH).matches("[A-Za-z0-9_.-]+");
  }

  @Test
  void eachTokenHasItsOwnNonce() {
    var a = tokens.verify(tokens.issue(Purpose.LOGIN, "ada", Duration.ofMinutes(1)), Purpose.LOGIN);
    var b = tokens.verify(tokens.issue(Purpose.LOGIN, "ada", Duration.ofMinutes(1)), Purpose.LOGIN);
    assertThat(a.orElseThrow().nonce()).isNotEqualTo(b.orElseThrow().nonce());
  }

  @Test
  void loginTokenIsNotASession() {
    String token = tokens.issue(Purpose.LOGIN, "ada", Duration.ofMinutes(5));
    assertThat(tokens.verify(token, Purpose.SESSION)).isEmpty();
  }

  @Test
  void expiredTokenIsRejected() {
    String token = tokens.issue(Purpose.SESSION, "ada", Duration.ofMinutes(5));
    var later = new SignedTokens(key, Clock.fixed(T0.plusSeconds(300), ZoneOffset.UTC));
    assertThat(later.verify(token, Purpose.SESSION)).isEmpty();
    var justBefore = new SignedTokens(key, Clock.fixed(T0.plusSeconds(299), ZoneOffset.UTC));
    assertThat(justBefore.verify(token, Purpose.SESSION)).isPresent();
  }

  @Test
  void otherKeyOrTamperedPayloadIsRejected() {
    String token = tokens.issue(Purpose.SESSION, "ada", Duration.ofMinutes(5));
    var other = new SignedTokens(filled(8), Clock.fixed(T0, ZoneOffset.UTC));
    assertThat(other.verify(token, Purpose.SESSION)).isEmpty();

    String forged = tokens.issue(Purpose.SESSION, "eve", Duration.ofMinutes(5));
    String spliced = forged.substring(0, forged.indexOf('.')) + token.substring(token.indexOf('.'));
    assertThat(tokens.verify(spliced, Purpose.SESSION)).isEmpty();
  }

  @Test
  void garbageNeverThrows() {
    for (String bad :
        new String[] {
          null, "", ".", "a.b", "a.b.c", "!!!.???", "x".repeat(10_000), "djE.", ".c2ln", "%%%.%%%"
        }) {
      assertThat(tokens.verify(bad, Purpose.LOGIN)).as(String.valueOf(bad)).isEmpty();
    }
  }

  @Test
  void shortKeyIsRefused() {
    assertThatThrownBy(() -> new SignedTokens(new byte[16], Clock.systemUTC()))
        .hasMessageContaining("32 bytes");
  }

  private static byte[] filled(int value) {
    byte[] bytes = new byte[32];
    Arrays.fill(bytes, (byte) value);
    return bytes;
  }
}
