package dev.vmctl.ssh;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * API clients that act as a person ({@code vmctl:user:<name>}), so RBAC, not gateway code, confines
 * each person to their namespace. One client per person, kept for reuse.
 */
public interface PersonClients extends AutoCloseable {
  KubernetesClient as(String userName);

  @Override
  void close();

  static String identity(String userName) {
    return "vmctl:user:" + userName;
  }

  /** Impersonating clients built from the gateway's own configuration. */
  static PersonClients impersonating(Config base) {
    Map<String, KubernetesClient> clients = new ConcurrentHashMap<>();
    return new PersonClients() {
      @Override
      public KubernetesClient as(String userName) {
        return clients.computeIfAbsent(
            userName,
            name -> {
              Config config = new ConfigBuilder(base).build();
              config.setImpersonateUsername(identity(name));
              return new KubernetesClientBuilder().withConfig(config).build();
            });
      }

      @Override
      public void close() {
        clients.values().forEach(KubernetesClient::close);
        clients.clear();
      }
    };
  }
}
