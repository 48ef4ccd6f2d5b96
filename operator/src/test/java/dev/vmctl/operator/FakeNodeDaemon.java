package dev.vmctl.operator;

import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for the node daemons in operator tests: publishes Hosts with a heartbeat and marks VMs
 * scheduled to them Running. Heartbeats can be stopped to simulate host loss.
 */
final class FakeNodeDaemon implements AutoCloseable {
  private final KubernetesClient client;
  private final List<String> hosts;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final java.util.Set<String> silent = java.util.concurrent.ConcurrentHashMap.newKeySet();

  FakeNodeDaemon(
      KubernetesClient client,
      Map<String, Map<String, String>> hostLabels,
      int cpus,
      String memory) {
    this.client = client;
    this.hosts = List.copyOf(hostLabels.keySet());
    for (var e : hostLabels.entrySet()) {
      Host host = new Host();
      host.getMetadata().setName(e.getKey());
      host.getMetadata().setLabels(e.getValue());
      host.setSpec(new Host.Spec());
      client.resource(host).create();
    }
    for (String name : hosts) {
      heartbeat(name, cpus, memory);
    }
    timer.scheduleWithFixedDelay(
        () -> {
          for (String name : hosts) {
            if (!silent.contains(name)) {
              try {
                heartbeat(name, cpus, memory);
              } catch (RuntimeException ignored) {
                // next beat
              }
            }
          }
          markScheduledVmsRunning();
        },
        500,
        500,
        TimeUnit.MILLISECONDS);
  }

  void silence(String host) {
    silent.add(host);
  }

  void resume(String host) {
    silent.remove(host);
  }

  private void heartbeat(String name, int cpus, String memory) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    client
        .resources(Host.class)
        .withName(name)
        .editStatus(
            h -> {
              Host.Status s = h.getStatus() == null ? new Host.Status() : h.getStatus();
              s.capacity = new ResourceAmounts(cpus, memory, "1Ti");
              s.allocatable = new ResourceAmounts(cpus, memory, "1Ti");
              s.heartbeatTime = now;
              s.images = List.of("debian-12");
              s.hypervisor = new Host.Hypervisor();
              s.hypervisor.kind = "fake";
              s.conditions =
                  List.of(
                      new ConditionBuilder()
                          .withType("Ready")
                          .withStatus("True")
                          .withReason("HeartbeatOk")
                          .withMessage("fake node daemon")
                          .withLastTransitionTime("2026-01-01T00:00:00Z")
                          .build());
              h.setStatus(s);
              return h;
            });
  }

  private void markScheduledVmsRunning() {
    for (String host : hosts) {
      if (silent.contains(host)) {
        continue;
      }
      for (VirtualMachine vm :
          client
              .resources(VirtualMachine.class)
              .inAnyNamespace()
              .withLabel(VirtualMachine.NODE_LABEL, host)
              .list()
              .getItems()) {
        if (vm.getStatus() != null && vm.getStatus().phase == VmPhase.Scheduled) {
          try {
            vm.getStatus().phase = VmPhase.Running;
            vm.getStatus()
                .phaseTransitions
                .add(
                    new dev.vmctl.api.v1alpha1.VirtualMachineStatus.PhaseTransition(
                        VmPhase.Running, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
            client.resource(vm).updateStatus();
          } catch (KubernetesClientException conflict) {
            // retried on the next tick
          }
        }
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (String name : hosts) {
      client.resources(Host.class).withName(name).delete();
    }
  }
}
