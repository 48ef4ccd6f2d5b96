package dev.vmctl.api.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 13: one Event per (object, type, reason). A repeat (a retried pass, the same failure with a
 * new message) raises the count, moves lastTimestamp and keeps the latest message.
 */
@ExtendWith(KubeApiServerExtension.class)
class EventRecorderKubeTest {
  @Test
  void aRepeatedReasonIsOneEventWithACountTheLatestMessageAndBothTimes(
      KubeEnv env, KubernetesClient client) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("evented");
    vm.getMetadata().setNamespace(env.namespace());
    vm.setSpec(new VirtualMachineSpec());
    VirtualMachine created = client.resource(vm).create();
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T19:49:59Z"));
    Clock clock =
        new Clock() {
          @Override
          public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return now.get();
          }
        };
    EventRecorder events = new EventRecorder(client, "test", clock);
    events.warning(created, "FailedScheduling", "No host fits: 1 host lacks memory.");
    now.set(Instant.parse("2026-12-01T19:50:24Z"));
    events.warning(created, "FailedScheduling", "No host fits: 2 hosts lack memory.");
    events.normal(created, "Scheduled", "Placed on host a.");
    events.close(); // writes what is queued
    List<Event> all = client.v1().events().inNamespace(env.namespace()).list().getItems();
    assertThat(all).hasSize(2);
    Event failed =
        all.stream()
            .filter(e -> e.getReason().equals("FailedScheduling"))
            .findFirst()
            .orElseThrow();
    assertThat(failed.getCount()).isEqualTo(2);
    assertThat(failed.getType()).isEqualTo("Warning");
    assertThat(failed.getMessage()).isEqualTo("No host fits: 2 hosts lack memory.");
    assertThat(failed.getFirstTimestamp()).isEqualTo("2026-12-01T19:49:59Z");
    assertThat(failed.getLastTimestamp()).isEqualTo("2026-12-01T19:50:24Z");
    assertThat(failed.getInvolvedObject().getUid()).isEqualTo(created.getMetadata().getUid());
    Event scheduled =
        all.stream().filter(e -> e.getReason().equals("Scheduled")).findFirst().orElseThrow();
    assertThat(scheduled.getCount()).isEqualTo(1);
    assertThat(scheduled.getFirstTimestamp()).isEqualTo("2026-12-01T19:50:24Z");
  }
}
