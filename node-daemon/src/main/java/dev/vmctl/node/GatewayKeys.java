package dev.vmctl.node;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH gateway's proxy public keys, published in ConfigMap {@code vmctl-ssh-gateway-keys} (key
 * {@code authorized_keys}) in the gateways' namespace. Read at most once per refresh interval for
 * the whole host, not once per VM; absent means no gateway key.
 */
final class GatewayKeys {
  static final String CONFIG_MAP = "vmctl-ssh-gateway-keys";
  static final String DATA_KEY = "authorized_keys";
  private static final Logger log = LoggerFactory.getLogger(GatewayKeys.class);

  private final KubernetesClient client;
  private final String namespace;
  private final Duration refresh;
  private final Clock clock;
  private List<String> keys = List.of();
  private Instant readAt = Instant.MIN;

  GatewayKeys(KubernetesClient client, String namespace, Duration refresh, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.refresh = refresh;
    this.clock = clock;
  }

  synchronized List<String> current() {
    Instant now = clock.instant();
    if (readAt.plus(refresh).isAfter(now)) {
      return keys;
    }
    try {
      ConfigMap cm = client.configMaps().inNamespace(namespace).withName(CONFIG_MAP).get();
      String text = cm == null || cm.getData() == null ? null : cm.getData().get(DATA_KEY);
      keys = text == null ? List.of() : parse(text);
      readAt = now;
    } catch (KubernetesClientException e) {
      // Keep the last known keys: a passing API hiccup must not remove the gateway's access.
      log.warn("cannot read ConfigMap {}/{}: {}", namespace, CONFIG_MAP, e.getMessage());
    }
    return keys;
  }

  static List<String> parse(String authorizedKeys) {
    return Arrays.stream(authorizedKeys.split("\n"))
        .map(String::trim)
        .filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .toList();
  }
}
