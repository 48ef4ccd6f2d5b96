package dev.vmctl.https.acme;

import dev.vmctl.gateway.CreateOnceSecret;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.Base64;
import java.util.Map;

/**
 * The ACME account key, in the Secret {@code vmctl-acme-account}. Created once; whichever replica
 * creates it first wins (create is atomic), the others read it. ACME finds an existing account by
 * its key, so nothing else needs storing.
 */
public final class AccountKeySecret {
  public static final String SECRET_NAME = "vmctl-acme-account";
  public static final String DATA_KEY = "account.key";

  private AccountKeySecret() {}

  public static KeyPair loadOrCreate(KubernetesClient client, String namespace) {
    Secret secret =
        CreateOnceSecret.getOrCreate(
            client,
            namespace,
            SECRET_NAME,
            () -> Map.of(DATA_KEY, Base64.getEncoder().encodeToString(pem(Keys.newEcKeyPair()))));
    String text =
        new String(
            Base64.getDecoder().decode(secret.getData().get(DATA_KEY)), StandardCharsets.US_ASCII);
    try {
      return Pem.parseKeyPair(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "Secret " + namespace + "/" + SECRET_NAME + " holds no readable key pair", e);
    }
  }

  private static byte[] pem(KeyPair pair) {
    return Pem.keyPair(pair).getBytes(StandardCharsets.US_ASCII);
  }
}
