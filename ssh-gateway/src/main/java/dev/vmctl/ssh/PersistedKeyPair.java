package dev.vmctl.ssh;

import dev.vmctl.gateway.CreateOnceSecret;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;

/**
 * An ECDSA P-256 key pair that survives restarts, so SSH clients never see the gateway's host key
 * change (and VMs keep trusting its proxy key): a Secret in a cluster, a file locally. Whoever
 * creates it first wins; the others read the winner's key.
 */
public final class PersistedKeyPair {
  static final String PRIVATE = "private";
  static final String PUBLIC = "public";

  private PersistedKeyPair() {}

  public static KeyPair loadOrCreate(Path file) throws IOException {
    if (!Files.exists(file)) {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, ".key", ".tmp");
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(tmp, encode(generate()), StandardCharsets.US_ASCII);
        try {
          Files.createLink(file, tmp);
        } catch (FileAlreadyExistsException e) {
          // another process won the race: use its key
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    String[] lines = Files.readString(file, StandardCharsets.US_ASCII).trim().split("\n");
    if (lines.length != 2) {
      throw new IOException(file + " is not a key pair written by the SSH gateway");
    }
    return decode(lines[0], lines[1]);
  }

  public static KeyPair loadOrCreate(KubernetesClient client, String namespace, String name) {
    Secret secret =
        CreateOnceSecret.getOrCreate(
            client,
            namespace,
            name,
            () -> {
              Base64.Encoder b64 = Base64.getEncoder();
              String[] encoded = encode(generate()).split("\n");
              return Map.of(
                  PRIVATE, b64.encodeToString(encoded[0].getBytes(StandardCharsets.US_ASCII)),
                  PUBLIC, b64.encodeToString(encoded[1].getBytes(StandardCharsets.US_ASCII)));
            });
    Base64.Decoder b64d = Base64.getDecoder();
    return decode(
        new String(b64d.decode(secret.getData().get(PRIVATE)), StandardCharsets.US_ASCII),
        new String(b64d.decode(secret.getData().get(PUBLIC)), StandardCharsets.US_ASCII));
  }

  static KeyPair generate() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 is part of every JDK", e);
    }
  }

  /** Two base64 lines: PKCS#8 private key, X.509 public key. */
  static String encode(KeyPair pair) {
    Base64.Encoder b64 = Base64.getEncoder();
    return b64.encodeToString(pair.getPrivate().getEncoded())
        + "\n"
        + b64.encodeToString(pair.getPublic().getEncoded())
        + "\n";
  }

  static KeyPair decode(String privateB64, String publicB64) {
    try {
      KeyFactory factory = KeyFactory.getInstance("EC");
      Base64.Decoder b64d = Base64.getDecoder();
      return new KeyPair(
          factory.generatePublic(new X509EncodedKeySpec(b64d.decode(publicB64.trim()))),
          factory.generatePrivate(new PKCS8EncodedKeySpec(b64d.decode(privateB64.trim()))));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalStateException("stored key pair cannot be read: " + e.getMessage(), e);
    }
  }
}
