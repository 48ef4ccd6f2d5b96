package dev.vmctl.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 13: a node daemon selects its VMs on the CRD's selectable field {@code status.nodeName},
 * server-side, against the real kube-apiserver (1.34), instead of on a label the scheduler had to
 * patch in a second write.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class OwnVmsSelectorKubeTest {

  /** Records which VMs its informer delivers. */
  @ControllerConfiguration(name = "selector-probe")
  static class Recording implements Reconciler<VirtualMachine> {
    final Set<String> seen = ConcurrentHashMap.newKeySet();

    @Override
    public UpdateControl<VirtualMachine> reconcile(VirtualMachine vm, Context<VirtualMachine> c) {
      seen.add(vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName());
      return UpdateControl.noUpdate();
    }
  }

  @Test
  void theInformerAndAListSeeOnlyTheVmsScheduledToThisHost(KubeEnv env) {
    KubernetesClient client = env.client();
    Recording recording = new Recording();
    Operator operator =
        new Operator(
            o ->
                o.withKubernetesClient(env.server().adminClient())
                    .withCloseClientOnStop(false)
                    .withUseSSAToPatchPrimaryResource(false));
    operator.register(
        recording,
        NodeDaemon.ownVmsOnly(
            operator.getConfigurationService().getConfigurationFor(recording), "node-a"));
    operator.start();
    try {
      create(client, env.namespace(), "unscheduled", null);
      create(client, env.namespace(), "theirs", "node-b");
      create(client, env.namespace(), "mine", "node-a");
      String mine = env.namespace() + "/mine";
      await().atMost(Duration.ofSeconds(30)).until(() -> recording.seen.contains(mine));
      // The other two were written before "mine", so without the selector they would be here.
      await()
          .during(Duration.ofSeconds(1))
          .atMost(Duration.ofSeconds(10))
          .until(() -> recording.seen.equals(Set.of(mine)));
      assertThat(
              client
                  .resources(VirtualMachine.class)
                  .inNamespace(env.namespace())
                  .withField(NodeDaemon.NODE_NAME_FIELD, "node-a")
                  .list()
                  .getItems())
          .extracting(vm -> vm.getMetadata().getName())
          .containsExactly("mine");
    } finally {
      operator.stop();
    }
  }

  static void create(KubernetesClient client, String ns, String name, String node) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    VirtualMachine created = client.resource(vm).create();
    if (node != null) { // status is the scheduler's: set through the status subresource
      created.setStatus(new VirtualMachineStatus());
      created.getStatus().nodeName = node;
      client.resource(created).updateStatus();
    }
  }
}
