package dev.vmctl.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.gateway.SignedTokens.Purpose;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
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
  void noncesAre128RandomBitsInTheSignedPayload() {
    String first = tokens.issue(Purpose.SESSION, "ada", Duration.ofMinutes(1));
    String second = tokens.issue(Purpose.SESSION, "ada", Duration.ofMinutes(1));
    byte[] a = nonceBytes(first);
    byte[] b = nonceBytes(second);
    assertThat(a).hasSize(16);
    assertThat(b).hasSize(16);
    assertThat(a).isNotEqualTo(b);
    assertThat(tokens.verify(first, Purpose.SESSION).orElseThrow().nonce())
        .isEqualTo(Base64.getUrlEncoder().withoutPadding().encodeToString(a));
  }

  @Test
  void genuineTokenWithAShortOrNonBase64NonceIsRefused() throws Exception {
    long expires = T0.plusSeconds(60).getEpochSecond();
    for (String nonce : List.of("[B@47eb5f1d", "AAAAAAAAAAAAAAAA", "!".repeat(22))) {
      String payload = "v1\nSESSION\nada\n" + expires + "\n" + nonce;
      assertThat(tokens.verify(signed(payload), Purpose.SESSION)).as(nonce).isEmpty();
    }
    String good = "v1\nSESSION\nada\n" + expires + "\n" + "A".repeat(21) + "w";
    assertThat(tokens.verify(signed(good), Purpose.SESSION)).isPresent();
  }

  /** The nonce field of a token's payload, decoded (what single use and logout key on). */
  private static byte[] nonceBytes(String token) {
    String payload =
        new String(
            Base64.getUrlDecoder().decode(token.substring(0, token.indexOf('.'))),
            StandardCharsets.UTF_8);
    String[] parts = payload.split("\n", -1);
    assertThat(parts).hasSize(5);
    assertThat(parts[4]).matches("[A-Za-z0-9_-]{22}");
    return Base64.getUrlDecoder().decode(parts[4]);
  }

  /** A token signed with the test key, built by hand (as an older gateway would have issued). */
  private String signed(String payload) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString(bytes) + "." + b64.encodeToString(mac.doFinal(bytes));
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
