package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.security.KeyPair;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Host and proxy keys kept in Secrets survive restarts; the proxy key's public half is published.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class GatewayKeysKubeTest {
  @Test
  void keySecretIsCreatedOnceAndReadBackByEveryReplica(KubeEnv env) {
    KeyPair first = PersistedKeyPair.loadOrCreate(env.client(), env.namespace(), "host-key");
    KeyPair second = PersistedKeyPair.loadOrCreate(env.client(), env.namespace(), "host-key");
    assertThat(second.getPublic().getEncoded()).isEqualTo(first.getPublic().getEncoded());
    assertThat(second.getPrivate().getEncoded()).isEqualTo(first.getPrivate().getEncoded());
  }

  @Test
  void proxyKeyIsPublishedForTheNodeDaemons(KubeEnv env) {
    KeyPair proxy = PersistedKeyPair.loadOrCreate(env.client(), env.namespace(), "proxy-key");
    ProxyKeyPublisher.publish(env.client(), env.namespace(), proxy);
    ProxyKeyPublisher.publish(env.client(), env.namespace(), proxy); // idempotent
    ConfigMap published =
        env.client()
            .configMaps()
            .inNamespace(env.namespace())
            .withName(ProxyKeyPublisher.CONFIG_MAP)
            .get();
    String line = published.getData().get(ProxyKeyPublisher.DATA_KEY).trim();
    assertThat(line).startsWith("ecdsa-sha2-nistp256 AAAA").endsWith(" vmctl-ssh-gateway");
    assertThat(dev.vmctl.gateway.SshKeys.fingerprint(line)).isPresent();
  }
}
