package dev.vmctl.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.CuttableProxy;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two operator replicas: only the leader schedules, and a new leader never double-books. */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class LeaderElectionKubeTest {

  @Test
  void standbyTakesOverWithoutSchedulingAnythingTwice(KubeEnv env) throws Exception {
    KubernetesClient client = env.client();
    String ns = env.namespace();
    VmctlOperator a =
        VmctlOperator.start(env.server().adminClient(), OperatorKubeTest.config(ns), "op-a");
    VmctlOperator b =
        VmctlOperator.start(env.server().adminClient(), OperatorKubeTest.config(ns), "op-b");
    try (FakeNodeDaemon nodes =
        new FakeNodeDaemon(client, Map.of("le-1", Map.of("t", "le")), 6, "64Gi")) {
      await().atMost(Duration.ofSeconds(30)).until(() -> a.isLeader() || b.isLeader());
      assertThat(a.isLeader() && b.isLeader()).as("one leader at a time").isFalse();
      VmctlOperator leader = a.isLeader() ? a : b;
      VmctlOperator standby = leader == a ? b : a;
      for (int i = 0; i < 4; i++) {
        create(client, ns, "before-" + i);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> scheduled(client, ns).size() == 4);
      Map<String, String> placedBefore = scheduled(client, ns);

      leader.close();
      await().atMost(Duration.ofSeconds(30)).until(standby::isLeader);
      for (int i = 0; i < 4; i++) {
        create(client, ns, "after-" + i);
      }
      // Room for 6 CPUs: the new leader must count the 4 placed by the old one.
      await().atMost(Duration.ofSeconds(30)).until(() -> scheduled(client, ns).size() == 6);
      // A seventh placement (a double-booking) would land within two seconds.
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(() -> scheduled(client, ns).size() == 6);
      Map<String, String> placedAfter = scheduled(client, ns);
      assertThat(placedAfter).hasSize(6).containsAllEntriesOf(placedBefore);
      Map<String, Long> scheduledEvents =
          client.v1().events().inNamespace(ns).list().getItems().stream()
              .filter(e -> "Scheduled".equals(e.getReason()))
              .collect(
                  Collectors.groupingBy(
                      e -> e.getInvolvedObject().getName(),
                      // One Event per (VM, reason): a second placement would raise its count.
                      Collectors.summingLong(e -> e.getCount() == null ? 1 : e.getCount())));
      assertThat(scheduledEvents.values()).as("each VM scheduled once").containsOnly(1L);
      assertThat(scheduledEvents).hasSize(6);
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * Issue 22: a leader cut off from the API server longer than its renew deadline must stop
   * scheduling at once. Before, it logged "Stopped leading, configured not to exit", kept its
   * controllers and, once the link came back, scheduled next to the new leader with a stale ledger.
   * The cut is a network partition (a proxy between op-cut and the API server) so the other replica
   * keeps working; an API-server kill looks the same to op-cut.
   */
  @Test
  void aLeaderCutOffFromTheApiServerStopsAndNeverSchedulesAgain(KubeEnv env) throws Exception {
    KubernetesClient client = env.client();
    // Its own namespace: the other test's VMs, events and Lease stay out of the counts.
    String ns = "lc-" + UUID.randomUUID().toString().substring(0, 6);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
        .create();
    URI api = URI.create(env.server().adminConfig().getMasterUrl());
    try (CuttableProxy proxy =
            new CuttableProxy(new InetSocketAddress(api.getHost(), api.getPort()));
        KubernetesClient viaProxy = throughProxy(env, proxy, "op-cut");
        FakeNodeDaemon nodes =
            new FakeNodeDaemon(client, Map.of("lc-1", Map.of("t", "lc")), 6, "64Gi")) {
      VmctlOperator cutOff = VmctlOperator.start(viaProxy, OperatorKubeTest.config(ns), "op-cut");
      VmctlOperator other = null;
      try {
        await().atMost(Duration.ofSeconds(30)).until(cutOff::isLeader);
        other =
            VmctlOperator.start(
                env.server().adminClient(), OperatorKubeTest.config(ns), "op-other");
        createLabelled(client, ns, "early", "lc");
        await().atMost(Duration.ofSeconds(30)).until(() -> placedHere(client, ns).size() == 1);

        proxy.cut(); // lease 3 s, renew deadline 2 s
        VmctlOperator standby = other;
        await().atMost(Duration.ofSeconds(30)).until(standby::isLeader);
        await().atMost(Duration.ofSeconds(10)).until(cutOff::lostLeadership);
        assertThat(cutOff.isLeader()).isFalse();
        proxy.restore(); // the partition heals: op-cut must stay out of it

        for (int i = 0; i < 8; i++) {
          createLabelled(client, ns, "late-" + i, "lc");
        }
        // 6 CPUs, 1 taken: exactly 5 of the 8 fit, each placed once, none by op-cut.
        await().atMost(Duration.ofSeconds(30)).until(() -> placedHere(client, ns).size() == 6);
        // op-cut would act within three seconds if it still reconciled.
        await()
            .during(Duration.ofSeconds(3))
            .atMost(Duration.ofSeconds(10))
            .until(() -> placedHere(client, ns).size() == 6);
        assertThat(placedHere(client, ns)).hasSize(6);
        for (VirtualMachine vm :
            client.resources(VirtualMachine.class).inNamespace(ns).list().getItems()) {
          if (vm.getMetadata().getName().startsWith("late-")) {
            assertThat(vm.getMetadata().getManagedFields())
                .as("status of %s written by op-cut", vm.getMetadata().getName())
                .noneMatch(f -> f.getManager().startsWith("op-cut"));
          }
        }
      } finally {
        cutOff.close();
        if (other != null) {
          other.close();
        }
      }
    }
  }

  /** VMs placed on this test's host. */
  static Map<String, String> placedHere(KubernetesClient client, String ns) {
    Map<String, String> placed = scheduled(client, ns);
    placed.values().removeIf(host -> !host.equals("lc-1"));
    return placed;
  }

  /** An admin client whose every request goes through {@code proxy}, marked by its user agent. */
  static KubernetesClient throughProxy(KubeEnv env, CuttableProxy proxy, String agent) {
    Config config = env.server().adminConfig();
    URI api = URI.create(config.getMasterUrl());
    config.setMasterUrl("https://" + api.getHost() + ":" + proxy.port());
    config.setUserAgent(agent);
    config.setRequestTimeout(5000);
    config.setConnectionTimeout(2000);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  static void createLabelled(KubernetesClient client, String ns, String name, String label) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().nodeSelector = Map.of("t", label);
    client.resource(vm).create();
  }

  static void create(KubernetesClient client, String ns, String name) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().nodeSelector = Map.of("t", "le");
    client.resource(vm).create();
  }

  static Map<String, String> scheduled(KubernetesClient client, String ns) {
    Map<String, String> placed = new HashMap<>();
    List<VirtualMachine> vms =
        client.resources(VirtualMachine.class).inNamespace(ns).list().getItems();
    for (VirtualMachine vm : vms) {
      if (vm.getStatus() != null && vm.getStatus().nodeName != null) {
        placed.put(vm.getMetadata().getName(), vm.getStatus().nodeName);
      }
    }
    return placed;
  }
}
