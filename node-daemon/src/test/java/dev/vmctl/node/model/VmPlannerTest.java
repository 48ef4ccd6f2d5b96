package dev.vmctl.node.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VmPlannerTest {

  static VirtualMachine vm(String uid) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("web");
    vm.getMetadata().setNamespace("ada");
    vm.getMetadata().setUid(uid);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 2;
    vm.getSpec().maxCpus = 4;
    vm.getSpec().memory = "1Gi";
    vm.getSpec().disk = "20Gi";
    return vm;
  }

  @Test
  void planIsStableAndDerivedFromTheUid() {
    VmPlan a =
        VmPlanner.plan(vm("3f2a-uid"), Path.of("/var/lib/vmctl"), Subnet.parse("10.100.0.0/24"));
    VmPlan b =
        VmPlanner.plan(vm("3f2a-uid"), Path.of("/var/lib/vmctl"), Subnet.parse("10.100.0.0/24"));
    assertThat(a).isEqualTo(b);
    assertThat(a.id()).hasSize(12);
    assertThat(a.tap()).hasSizeLessThanOrEqualTo(15).startsWith("vt");
    assertThat(a.mac()).matches("52:54(:[0-9a-f]{2}){4}");
    assertThat(a.dir()).isEqualTo(Path.of("/var/lib/vmctl/vms", a.id()));
    assertThat(a.cpus()).isEqualTo(2);
    assertThat(a.maxCpus()).isEqualTo(4);
    assertThat(a.maxMemoryBytes()).isEqualTo(1L << 30);
    assertThat(a.diskBytes()).isEqualTo(20L << 30);
    assertThat(a.rootDiskBytes()).as("the CRD's default").isEqualTo(10L << 30);
    assertThat(a.gateway()).isEqualTo("10.100.0.1");
    assertThat(VmPlanner.plan(vm("other"), Path.of("/x"), Subnet.parse("10.100.0.0/24")).mac())
        .isNotEqualTo(a.mac());
  }

  /** Issue 21: a spec grown past quota runs at what the operator granted, never more. */
  @Test
  void theHostRunsNoMoreThanTheOperatorGranted() {
    VirtualMachine vm = vm("uid");
    vm.getSpec().cpus = 100;
    vm.getSpec().maxCpus = null;
    vm.getSpec().memory = "200Gi";
    vm.getSpec().disk = "900Gi";
    vm.getSpec().rootDisk = "800Gi";
    vm.setStatus(new VirtualMachineStatus());
    vm.getStatus().allocated = new dev.vmctl.api.v1alpha1.ResourceAmounts(4, "1Gi", "20Gi");
    vm.getStatus().allocated.rootDisk = "30Gi";
    VmPlan plan = VmPlanner.plan(vm, Path.of("/x"), Subnet.parse("10.100.0.0/24"));
    assertThat(plan.cpus()).isEqualTo(4);
    assertThat(plan.maxCpus()).isEqualTo(4);
    assertThat(plan.memoryBytes()).isEqualTo(1L << 30);
    assertThat(plan.maxMemoryBytes()).isEqualTo(1L << 30);
    assertThat(plan.diskBytes()).isEqualTo(20L << 30);
    assertThat(plan.rootDiskBytes()).isEqualTo(30L << 30);
  }

  @Test
  void statusIdentityWins() {
    VirtualMachine vm = vm("uid");
    vm.setStatus(new VirtualMachineStatus());
    vm.getStatus().ipAddress = "10.100.0.9";
    vm.getStatus().macAddress = "52:54:00:aa:bb:cc";
    vm.getStatus().vsockCid = 7L;
    VmPlan plan = VmPlanner.plan(vm, Path.of("/x"), Subnet.parse("10.100.0.0/24"));
    assertThat(plan.ipAddress()).isEqualTo("10.100.0.9");
    assertThat(plan.mac()).isEqualTo("52:54:00:aa:bb:cc");
    assertThat(plan.vsockCid()).isEqualTo(7);
  }

  @Test
  void addressesAndCids() {
    Subnet subnet = Subnet.parse("10.100.3.77/29");
    assertThat(subnet.cidr()).isEqualTo("10.100.3.72/29");
    assertThat(subnet.firstFree(Set.of())).isEqualTo("10.100.3.74");
    assertThat(subnet.firstFree(Set.of("10.100.3.74", "10.100.3.76"))).isEqualTo("10.100.3.75");
    assertThatThrownBy(
            () ->
                subnet.firstFree(
                    Set.of(
                        "10.100.3.74", "10.100.3.75", "10.100.3.76", "10.100.3.77", "10.100.3.78")))
        .hasMessageContaining("no free address");
    assertThat(subnet.contains("10.100.3.79")).isTrue();
    assertThat(subnet.contains("10.100.3.80")).isFalse();
    assertThatThrownBy(() -> Subnet.parse("10.0.0.0")).hasMessageContaining("not a CIDR");
  }
}
