package dev.vmctl.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The informer-backed directory against a real API server: indexes follow every change. */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class DirectoryKubeTest {

  @Test
  void indexesUsersVmsSharesAndLinkTokens(KubeEnv env) throws Exception {
    KubernetesClient client = env.client();
    String suffix = env.namespace().substring(env.namespace().length() - 5);
    String ada = "ada-" + suffix;
    String bob = "bob-" + suffix;
    String adaNs = "user-" + ada;
    String bobNs = "user-" + bob;
    for (String ns : List.of(adaNs, bobNs)) {
      client
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    User adaUser = AccessTest.user(ada, "Ada@Example.com");
    adaUser.getSpec().sshKeys = List.of(SshKeysTest.ED25519);
    provisioned(client, client.resource(adaUser).create(), adaNs);
    provisioned(client, client.resource(AccessTest.user(bob, "bob@example.com")).create(), bobNs);
    String eve = "eve-" + suffix;
    provisioned(
        client, client.resource(AccessTest.user(eve, "eve@example.com")).create(), "user-" + eve);
    // Issue 21: a VM in Ada's namespace naming eve as its owner belongs to nobody.
    VirtualMachine takeover = AccessTest.vm("grab-" + suffix, adaNs);
    takeover.getSpec().owner = eve;
    client.resource(takeover).create();
    VirtualMachine ghost = AccessTest.vm("ghost-" + suffix, adaNs);
    ghost.getSpec().owner = "nobody-" + suffix;
    client.resource(ghost).create();

    VirtualMachine first = AccessTest.vm("web-" + suffix, adaNs);
    first.getSpec().owner = ada;
    client.resource(first).create();
    Thread.sleep(1100); // creationTimestamp has one-second resolution: make "oldest" certain
    client.resource(AccessTest.vm("web-" + suffix, bobNs)).create();

    Share share = AccessTest.share("to-bob", adaNs, "web-" + suffix);
    share.getSpec().email = "BOB@example.com";
    client.resource(share).create();
    client
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName("share-link1")
                .withNamespace(adaNs)
                .withLabels(Map.of(Share.SHARE_LABEL, "link1"))
                .endMetadata()
                .withStringData(Map.of("token", "s3cret-token"))
                .build())
        .create();

    try (Directory directory = Directory.start(client, true, Duration.ofSeconds(30))) {
      AtomicInteger changes = new AtomicInteger();
      directory.onChange(changes::incrementAndGet);

      assertThat(directory.userByFingerprint("SHA256:7DBffoxVtvO9M8jopX94vs1c132iGUiyKMLFgPEc63A"))
          .map(u -> u.getMetadata().getName())
          .contains(ada);
      assertThat(directory.userByEmail("ada@example.COM")).isPresent();
      List<VirtualMachine> named = directory.vmsNamed("web-" + suffix);
      assertThat(named)
          .extracting(vm -> vm.getMetadata().getNamespace())
          .containsExactly(adaNs, bobNs);
      assertThat(directory.ownerOf(named.get(0))).isEqualTo(ada);
      // No spec.owner: the owner is the User whose namespace holds the VM.
      assertThat(directory.ownerOf(named.get(1))).isEqualTo(bob);
      assertThat(directory.ownerOf(directory.vm(adaNs, "grab-" + suffix).orElseThrow())).isNull();
      assertThat(directory.ownerOf(directory.vm(adaNs, "ghost-" + suffix).orElseThrow())).isNull();
      assertThat(directory.vmsOf(adaUser)).hasSize(3);

      // Issue 22: two VMs claiming one address on one host are routed to neither.
      VirtualMachine grab = directory.vm(adaNs, "grab-" + suffix).orElseThrow();
      VirtualMachine ghostVm = directory.vm(adaNs, "ghost-" + suffix).orElseThrow();
      claimAddress(client, grab, "h1", "10.100.0.9");
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> directory.addressIsUnique(directory.vm(adaNs, "grab-" + suffix).get()));
      claimAddress(client, ghostVm, "h1", "10.100.0.9");
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !directory.addressIsUnique(directory.vm(adaNs, "grab-" + suffix).get()));
      claimAddress(client, directory.vm(adaNs, "ghost-" + suffix).get(), "h2", "10.100.0.9");
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> directory.addressIsUnique(directory.vm(adaNs, "grab-" + suffix).get()));
      assertThat(directory.sharesOf(named.get(0)))
          .extracting(s -> s.getMetadata().getName())
          .containsExactly("to-bob");
      assertThat(directory.sharesWithEmail("bob@example.com")).hasSize(1);
      assertThat(directory.linkShareByToken("s3cret-token")).contains(adaNs + "/link1");
      assertThat(directory.linkShareByToken("wrong")).isEmpty();
      assertThat(directory.linkActive(adaNs, "link1")).isTrue();

      // Bob registers Ada's key too: the key no longer identifies anyone.
      User bobUser = client.resources(User.class).withName(bob).get();
      bobUser.getSpec().sshKeys = List.of(SshKeysTest.ED25519);
      client.resource(bobUser).update();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  directory
                      .userByFingerprint("SHA256:7DBffoxVtvO9M8jopX94vs1c132iGUiyKMLFgPEc63A")
                      .isEmpty());

      client.secrets().inNamespace(adaNs).withName("share-link1").delete();
      await().atMost(Duration.ofSeconds(10)).until(() -> !directory.linkActive(adaNs, "link1"));
      assertThat(directory.linkShareByToken("s3cret-token")).isEmpty();
      assertThat(changes.get()).isPositive();
    }
  }

  static void claimAddress(KubernetesClient client, VirtualMachine vm, String host, String ip) {
    VirtualMachine fresh = client.resource(vm).get();
    fresh.setStatus(new dev.vmctl.api.v1alpha1.VirtualMachineStatus());
    fresh.getStatus().nodeName = host;
    fresh.getStatus().ipAddress = ip;
    client.resource(fresh).updateStatus();
  }

  /** What the operator writes once it has provisioned the User's namespace. */
  static void provisioned(KubernetesClient client, User user, String namespace) {
    user.setStatus(new User.Status());
    user.getStatus().namespace = namespace;
    client.resource(user).updateStatus();
  }
}
