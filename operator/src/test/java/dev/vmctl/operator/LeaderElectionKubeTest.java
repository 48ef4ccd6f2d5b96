package dev.vmctl.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two operator replicas: only the leader schedules, and a new leader never double-books. */
@ExtendWith(KubeApiServerExtension.class)
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
      Thread.sleep(2000);
      Map<String, String> placedAfter = scheduled(client, ns);
      assertThat(placedAfter).hasSize(6).containsAllEntriesOf(placedBefore);
      Map<String, Long> scheduledEvents =
          client.v1().events().inNamespace(ns).list().getItems().stream()
              .filter(e -> "Scheduled".equals(e.getReason()))
              .collect(
                  Collectors.groupingBy(
                      e -> e.getInvolvedObject().getName(), Collectors.counting()));
      assertThat(scheduledEvents.values()).as("each VM scheduled once").containsOnly(1L);
      assertThat(scheduledEvents).hasSize(6);
    } finally {
      a.close();
      b.close();
    }
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
