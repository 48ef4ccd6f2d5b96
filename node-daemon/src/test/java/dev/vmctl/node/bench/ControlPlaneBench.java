package dev.vmctl.node.bench;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.node.NodeConfig;
import dev.vmctl.node.NodeDaemon;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.hypervisor.EmulatedHypervisors;
import dev.vmctl.node.model.Subnet;
import dev.vmctl.node.model.VmPlanner;
import dev.vmctl.operator.OperatorConfig;
import dev.vmctl.operator.VmctlOperator;
import dev.vmctl.testkit.KubeApiServer;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeBinaries;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Control-plane overhead (not a test): VM created -> operator schedules -> node daemon records the
 * identity, clones the root (btrfs reflink), creates the data volume and TAP, launches
 * cloud-hypervisor (emulated: the real binary cannot be installed here) and calls vm.create and
 * vm.boot. Prints create-to-boot-call latency. Run with hack/bench-node.sh (as root).
 */
public final class ControlPlaneBench {
  public static void main(String[] args) throws Exception {
    int vms = Integer.parseInt(System.getProperty("vms", "20"));
    Path dir = Path.of(System.getProperty("benchDir"));
    Path pool = dir.resolve("btrfs");
    String netns = System.getProperty("netns");
    Path kube = Files.createTempDirectory("vmctl-cpbench-");
    try (KubeApiServer server = KubeApiServer.start(KubeBinaries.locate(), kube, 0);
        KubernetesClient client = server.adminClient()) {
      KubeApiServerExtension.installCrds(client, Path.of(System.getProperty("vmctl.crds", "crds")));
      client
          .namespaces()
          .resource(
              new NamespaceBuilder().withNewMetadata().withName("bench").endMetadata().build())
          .create();
      Files.createDirectories(pool.resolve("images"));
      Files.move(pool.resolve("base.raw"), pool.resolve("images/debian-12.raw"));
      EmulatedHypervisors hypervisors = new EmulatedHypervisors(new ProcessCommands());
      Files.createDirectories(dir.resolve("kernel"));
      Files.writeString(dir.resolve("kernel/vmlinux"), "");
      NodeConfig config =
          new NodeConfig(
              "bench-node",
              pool,
              pool,
              "btrfs",
              "cloud-hypervisor",
              Subnet.parse("10.125.0.0/22"),
              "vmbr0",
              netns,
              dir.resolve("kernel"),
              "qemu-system-x86_64",
              "vhost-device-vsock",
              true,
              0,
              "256Mi",
              Duration.ofSeconds(5),
              0,
              "vmctl",
              "vmctl",
              "pool",
              "cloud-hypervisor",
              "vmctl-system",
              java.time.Duration.ofSeconds(5),
              "",
              null, // no VM cgroups: the hypervisor is a fake
              "vmctl",
              "0",
              NodeConfig.DEFAULT_CPU_OVERCOMMIT);
      try (VmctlOperator operator =
              VmctlOperator.start(
                  server.adminClient(),
                  OperatorConfig.fromEnvironment(
                      Map.of(
                          "VMCTL_LEASE_NAMESPACE",
                          "bench",
                          "VMCTL_HTTP_PORT",
                          "0",
                          "VMCTL_LEASE_DURATION",
                          "5s")),
                  "bench-op");
          NodeDaemon daemon = NodeDaemon.start(server.adminClient(), config, hypervisors)) {
        Thread.sleep(3000);
        List<Long> latencies = new ArrayList<>();
        for (int i = 0; i < vms; i++) {
          VirtualMachine vm = new VirtualMachine();
          vm.getMetadata().setName("vm-" + i);
          vm.getMetadata().setNamespace("bench");
          vm.setSpec(new VirtualMachineSpec());
          vm.getSpec().memory = "256Mi";
          vm.getSpec().disk = "1Gi";
          long start = System.nanoTime();
          String id = VmPlanner.id(client.resource(vm).create());
          while (hypervisors.bootedAt(id) == null) {
            Thread.sleep(1);
          }
          latencies.add(hypervisors.bootedAt(id) - start);
          // The host has few CPUs; free the room before the next one.
          client.resource(vm).delete();
          while (client
                  .resources(VirtualMachine.class)
                  .inNamespace("bench")
                  .withName(vm.getMetadata().getName())
                  .get()
              != null) {
            Thread.sleep(20);
          }
        }
        Collections.sort(latencies);
        System.out.printf(
            "create -> vm.boot call (%d VMs, one at a time): p50 %.1f ms, p90 %.1f ms, max %.1f ms%n",
            vms,
            latencies.get(vms / 2) / 1e6,
            latencies.get((int) (vms * 0.9)) / 1e6,
            latencies.get(vms - 1) / 1e6);
      }
    } finally {
      try (var walk = Files.walk(kube)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
