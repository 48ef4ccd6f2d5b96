package dev.vmctl.gateway;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The secret both gateways sign login and session tokens with. In a cluster it is the Secret {@code
 * vmctl-gateway-key} in the gateways' namespace; locally, a file. Whichever gateway starts first
 * creates it; the other reads what the first wrote (create is atomic on the API server).
 */
public final class GatewayKey {
  public static final String SECRET_NAME = "vmctl-gateway-key";
  public static final String DATA_KEY = "key";
  private static final int LENGTH = 32;

  private GatewayKey() {}

  /** Reads the key from {@code file}, creating it (mode 0600) when it does not exist yet. */
  public static byte[] loadOrCreate(Path file) throws IOException {
    if (!Files.exists(file)) {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".key", ".tmp");
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.write(tmp, random(), StandardOpenOption.TRUNCATE_EXISTING);
        try {
          Files.createLink(file, tmp); // fails if another process won the race: keep theirs
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // fine: read the winner's key below
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    byte[] key = Files.readAllBytes(file);
    if (key.length < LENGTH) {
      throw new IOException(file + " holds " + key.length + " bytes; the gateway key needs 32");
    }
    return key;
  }

  /** Reads the key from the Secret, creating the Secret when it does not exist yet. */
  public static byte[] loadOrCreate(KubernetesClient client, String namespace) {
    Secret secret =
        CreateOnceSecret.getOrCreate(
            client,
            namespace,
            SECRET_NAME,
            () -> Map.of(DATA_KEY, Base64.getEncoder().encodeToString(random())));
    byte[] key = Base64.getDecoder().decode(secret.getData().get(DATA_KEY));
    if (key.length < LENGTH) {
      throw new IllegalStateException(
          "Secret " + namespace + "/" + SECRET_NAME + " holds a key shorter than 32 bytes");
    }
    return key;
  }

  private static byte[] random() {
    byte[] key = new byte[LENGTH];
    new SecureRandom().nextBytes(key);
    return key;
  }
}
