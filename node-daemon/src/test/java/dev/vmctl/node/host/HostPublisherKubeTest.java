package dev.vmctl.node.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.node.NodeConfig;
import dev.vmctl.node.fakes.FakeHost;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Host the node daemon publishes (issue 15): cores, the overcommit ratio in effect (the Host's
 * own, else the cluster default), vCPUs allocatable, the per-VM memory overhead, disks reserved.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class HostPublisherKubeTest {

  @Test
  void publishesCoresRatioVcpusAndOverheadAndFollowsTheHostsOwnRatio(KubeEnv env) {
    KubernetesClient client = env.client();
    String name = "pub-" + UUID.randomUUID().toString().substring(0, 6);
    Map<String, String> settings =
        Map.of(
            "VMCTL_NODE_NAME", name,
            "VMCTL_STATE_DIR", "/nonexistent",
            "VMCTL_RESERVED_CPUS", "0",
            "VMCTL_CPU_OVERCOMMIT", "4",
            "VMCTL_VM_MEMORY_OVERHEAD", "512Mi");
    NodeConfig config = NodeConfig.fromEnvironment(settings);
    FakeHost fake = new FakeHost();
    VirtualMachine vm = new VirtualMachine();
    vm.setStatus(new VirtualMachineStatus());
    vm.getStatus().allocated = new ResourceAmounts(3, "2Gi", "10Gi");
    vm.getStatus().allocated.rootDisk = "10Gi";
    HostPublisher publisher =
        new HostPublisher(
            env.server().adminClient(),
            config,
            fake.storage(),
            fake.hypervisor(),
            () -> List.of(vm));
    int cores = Runtime.getRuntime().availableProcessors();
    try {
      publisher.publish();
      Host.Status s = client.resources(Host.class).withName(name).get().getStatus();
      assertThat(s.capacity.cpus).isEqualTo(cores);
      assertThat(s.cpuOvercommit).isEqualTo(4);
      assertThat(s.allocatable.cpus).isEqualTo(cores * 4);
      assertThat(s.vmMemoryOverhead).isEqualTo("512Mi");
      assertThat(s.allocated.cpus).isEqualTo(3);
      assertThat(s.allocated.disk).as("root and data volumes").isEqualTo("20Gi");

      dev.vmctl.api.kube.Edits.edit(
          client.resources(Host.class).withName(name),
          h -> {
            h.getSpec().cpuOvercommit = 2;
            return h;
          });
      publisher.publish();
      s = client.resources(Host.class).withName(name).get().getStatus();
      assertThat(s.cpuOvercommit).isEqualTo(2);
      assertThat(s.allocatable.cpus).isEqualTo(cores * 2);
    } finally {
      client.resources(Host.class).withName(name).delete();
    }
  }

  @Test
  void aClusterDefaultOutsideOneToThirtyTwoIsRefusedAtStart() {
    assertThatThrownBy(() -> NodeConfig.fromEnvironment(Map.of("VMCTL_CPU_OVERCOMMIT", "0")))
        .hasMessageContaining("VMCTL_CPU_OVERCOMMIT must be a whole number of vCPUs per core");
  }
}
