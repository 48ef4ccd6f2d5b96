package dev.vmctl.ssh;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.security.KeyPair;
import java.util.Map;
import org.apache.sshd.common.config.keys.PublicKeyEntry;

/**
 * Publishes the proxy key's public half in ConfigMap {@code vmctl-ssh-gateway-keys} (key {@code
 * authorized_keys}), from where the node daemon installs it into VMs for username routing.
 */
final class ProxyKeyPublisher {
  static final String CONFIG_MAP = "vmctl-ssh-gateway-keys";
  static final String DATA_KEY = "authorized_keys";

  private ProxyKeyPublisher() {}

  static String authorizedKeysLine(KeyPair proxyKey) {
    return PublicKeyEntry.toString(proxyKey.getPublic()) + " vmctl-ssh-gateway";
  }

  static void publish(KubernetesClient client, String namespace, KeyPair proxyKey) {
    ConfigMap wanted =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(CONFIG_MAP)
            .withNamespace(namespace)
            .withLabels(Map.of("app.kubernetes.io/part-of", "vmctl"))
            .endMetadata()
            .withData(Map.of(DATA_KEY, authorizedKeysLine(proxyKey) + "\n"))
            .build();
    client.resource(wanted).forceConflicts().serverSideApply();
  }
}
