package dev.vmctl.https.acme;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
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
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET_NAME).get();
    if (secret == null) {
      Secret fresh =
          new SecretBuilder()
              .withNewMetadata()
              .withName(SECRET_NAME)
              .withNamespace(namespace)
              .withLabels(Map.of("app.kubernetes.io/part-of", "vmctl"))
              .endMetadata()
              .withType("Opaque")
              .withData(
                  Map.of(DATA_KEY, Base64.getEncoder().encodeToString(pem(Keys.newEcKeyPair()))))
              .build();
      try {
        secret = client.resource(fresh).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        secret = client.secrets().inNamespace(namespace).withName(SECRET_NAME).get();
      }
    }
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
