package dev.vmctl.operator;

import dev.vmctl.api.status.Admission;
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
 * scheduled to them Running (selected server-side on {@code status.nodeName}, as the node daemon
 * selects them). Like the node daemon it stops Halted VMs (phase Stopped) and starts a stopped VM
 * again only once the operator granted it CPU and memory ({@link Admission}). Heartbeats can be
 * stopped to simulate host loss.
 */
final class FakeNodeDaemon implements AutoCloseable {
  private final KubernetesClient client;
  private final List<String> hosts;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final java.util.Set<String> silent = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final boolean runsVms;
  private final int cpuOvercommit;
  private final String vmMemoryOverhead;

  /**
   * Hosts of {@code cores} cores at {@code cpuOvercommit} vCPUs per core, each VM costing {@code
   * vmMemoryOverhead} beyond its memory: what the node daemon publishes.
   */
  static FakeNodeDaemon overcommitted(
      KubernetesClient client,
      Map<String, Map<String, String>> hostLabels,
      int cores,
      int cpuOvercommit,
      String memory,
      String vmMemoryOverhead) {
    return new FakeNodeDaemon(
        client, hostLabels, cores, memory, true, cpuOvercommit, vmMemoryOverhead);
  }

  FakeNodeDaemon(
      KubernetesClient client,
      Map<String, Map<String, String>> hostLabels,
      int cpus,
      String memory) {
    this(client, hostLabels, cpus, memory, true);
  }

  /** With {@code runsVms} false it only publishes Hosts and writes nothing to VMs. */
  FakeNodeDaemon(
      KubernetesClient client,
      Map<String, Map<String, String>> hostLabels,
      int cpus,
      String memory,
      boolean runsVms) {
    this(client, hostLabels, cpus, memory, runsVms, 1, null);
  }

  private FakeNodeDaemon(
      KubernetesClient client,
      Map<String, Map<String, String>> hostLabels,
      int cpus,
      String memory,
      boolean runsVms,
      int cpuOvercommit,
      String vmMemoryOverhead) {
    this.client = client;
    this.runsVms = runsVms;
    this.cpuOvercommit = cpuOvercommit;
    this.vmMemoryOverhead = vmMemoryOverhead;
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
          if (runsVms) {
            markScheduledVmsRunning();
          }
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
              s.cpuOvercommit = cpuOvercommit;
              s.allocatable = new ResourceAmounts(cpus * cpuOvercommit, memory, "1Ti");
              s.vmMemoryOverhead = vmMemoryOverhead;
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
              .withField("status.nodeName", host) // the CRD's selectable field, as node daemons do
              .list()
              .getItems()) {
        VmPhase next = next(vm);
        if (next != null) {
          try {
            vm.getStatus().phase = next;
            vm.getStatus()
                .phaseTransitions
                .add(
                    new dev.vmctl.api.v1alpha1.VirtualMachineStatus.PhaseTransition(
                        next, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
            client.resource(vm).updateStatus();
          } catch (KubernetesClientException conflict) {
            // retried on the next tick
          }
        }
      }
    }
  }

  /** The phase the node daemon would move the VM to, or null to leave it. */
  private static VmPhase next(VirtualMachine vm) {
    if (vm.getStatus() == null || vm.getStatus().phase == null) {
      return null;
    }
    VmPhase phase = vm.getStatus().phase;
    if (Admission.staysOff(vm)) {
      return phase == VmPhase.Stopped ? null : VmPhase.Stopped;
    }
    boolean startable = phase == VmPhase.Scheduled || phase == VmPhase.Stopped;
    return startable && Admission.granted(vm.getStatus()) ? VmPhase.Running : null;
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
