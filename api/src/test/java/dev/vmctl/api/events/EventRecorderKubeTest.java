package dev.vmctl.api.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Issue 13: a repeated event (a retried pass) is one Event with a count, not a second Event. */
@ExtendWith(KubeApiServerExtension.class)
class EventRecorderKubeTest {
  @Test
  void aRepeatRaisesTheCountAndANewMessageIsANewEvent(KubeEnv env, KubernetesClient client) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("evented");
    vm.getMetadata().setNamespace(env.namespace());
    vm.setSpec(new VirtualMachineSpec());
    VirtualMachine created = client.resource(vm).create();
    EventRecorder events = new EventRecorder(client, "test");
    events.normal(created, "Running", "The guest is up.");
    events.normal(created, "Running", "The guest is up.");
    events.warning(created, "HypervisorExited", "It stopped.");
    events.close(); // writes what is queued
    List<Event> all = client.v1().events().inNamespace(env.namespace()).list().getItems();
    assertThat(all).hasSize(2);
    Event running =
        all.stream().filter(e -> e.getReason().equals("Running")).findFirst().orElseThrow();
    assertThat(running.getCount()).isEqualTo(2);
    assertThat(running.getInvolvedObject().getUid()).isEqualTo(created.getMetadata().getUid());
  }
}
