package dev.vmctl.gateway;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A Secret that is generated once and then only read (signing keys, host keys, ACME account keys):
 * whichever replica creates it first wins, and a replica that loses the race (409) reads the
 * winner's, so every replica ends up with the same value.
 */
public final class CreateOnceSecret {
  private CreateOnceSecret() {}

  /**
   * The Secret {@code namespace/name}, created with {@code data} (values base64-encoded, as in
   * {@code Secret.data}) when it does not exist yet; {@code data} is only called then.
   */
  public static Secret getOrCreate(
      KubernetesClient client, String namespace, String name, Supplier<Map<String, String>> data) {
    Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
    if (secret != null) {
      return secret;
    }
    Secret fresh =
        new SecretBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(namespace)
            .withLabels(Map.of("app.kubernetes.io/part-of", "vmctl"))
            .endMetadata()
            .withType("Opaque")
            .withData(data.get())
            .build();
    try {
      return client.resource(fresh).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      return client.secrets().inNamespace(namespace).withName(name).get();
    }
  }
}
