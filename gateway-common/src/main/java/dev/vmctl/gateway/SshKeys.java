package dev.vmctl.gateway;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Optional;

/** OpenSSH public keys as users paste them: {@code [options] type base64 [comment]}. */
public final class SshKeys {
  private SshKeys() {}

  /**
   * The key's OpenSSH fingerprint ({@code SHA256:...}, as {@code ssh-keygen -lf} prints it), or
   * empty when the line holds no well-formed key (the key blob must name the same type).
   */
  public static Optional<String> fingerprint(String authorizedKeyLine) {
    return blob(authorizedKeyLine).map(SshKeys::fingerprintOfBlob);
  }

  /** The fingerprint of a key's wire-format blob (what an SSH server sees at login). */
  public static String fingerprintOfBlob(byte[] blob) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(blob);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** The decoded key blob of an authorized_keys line, checked against its declared type. */
  public static Optional<byte[]> blob(String line) {
    if (line == null || line.length() > 16384) {
      return Optional.empty();
    }
    String[] tokens = line.trim().split("\\s+");
    for (int i = 0; i + 1 < tokens.length; i++) {
      if (!looksLikeType(tokens[i])) {
        continue;
      }
      try {
        byte[] blob = Base64.getDecoder().decode(tokens[i + 1]);
        if (tokens[i].equals(declaredType(blob))) {
          return Optional.of(blob);
        }
      } catch (IllegalArgumentException e) {
        // not base64: keep looking (the type may have appeared inside options)
      }
    }
    return Optional.empty();
  }

  private static boolean looksLikeType(String token) {
    return token.startsWith("ssh-")
        || token.startsWith("ecdsa-sha2-")
        || token.startsWith("sk-ssh-")
        || token.startsWith("sk-ecdsa-");
  }

  private static String declaredType(byte[] blob) {
    if (blob.length < 4) {
      return null;
    }
    int length = ByteBuffer.wrap(blob, 0, 4).getInt();
    if (length <= 0 || length > 64 || length > blob.length - 4) {
      return null;
    }
    return new String(blob, 4, length, StandardCharsets.US_ASCII);
  }
}
