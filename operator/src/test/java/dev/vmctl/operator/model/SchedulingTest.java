package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The scheduling decision and the status it leads to, without an API server. */
class SchedulingTest {
  static final long GI = 1L << 30;
  static final Instant NOW = Instant.parse("2026-12-01T19:49:59Z");

  static VirtualMachine vm(String namespace, String name, int cpus) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setNamespace(namespace);
    vm.getMetadata().setName(name);
    vm.getMetadata().setGeneration(3L);
    vm.getMetadata().setCreationTimestamp("2026-12-01T19:49:00Z");
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = cpus;
    vm.getSpec().memory = "1Gi";
    return vm;
  }

  static User user(String name, String namespace, boolean disabled) {
    User u = new User();
    u.getMetadata().setName(name);
    u.setSpec(new User.Spec());
    u.getSpec().disabled = disabled;
    u.setStatus(new User.Status());
    u.getStatus().namespace = namespace;
    return u;
  }

  static Placement.Cluster cluster(int cpusFree) {
    HostView host = PlacementTest.host("a", cpusFree, 64, Map.of());
    return new Placement.Cluster(
        List.of(host), Map.of(), Map.of(), PlacementTest.NOW, Duration.ofSeconds(40));
  }

  static Scheduling.Inputs inputs(
      VirtualMachine vm,
      List<User> users,
      List<Quota> quotas,
      Optional<String> older,
      Placement.Cluster cluster) {
    return new Scheduling.Inputs(
        vm, users, quotas, QuotaCheck.Usage.NONE, older, false, cluster, Strategy.PACK);
  }

  static Quota vmQuota(int vms) {
    Quota q = new Quota();
    q.getMetadata().setName("q");
    q.setSpec(new Quota.Spec());
    q.getSpec().hard = new Quota.Amounts(vms, null, null, null);
    return q;
  }

  @Test
  void aVmThatFitsIsPlacedWithItsMaximumsAsTheAllocation() {
    VirtualMachine vm = vm("user-a", "web", 2);
    vm.getSpec().maxCpus = 4;
    Scheduling.Decision d =
        Scheduling.decide(inputs(vm, List.of(), List.of(), Optional.empty(), cluster(8)));
    assertThat(d)
        .as("the data volume and the root volume (default 10Gi each) are both reserved")
        .isEqualTo(new Scheduling.Place("a", new Amounts(4, GI, 10 * GI, 10 * GI)));
    assertThat(d.reason()).isEqualTo(Reasons.SCHEDULED);
    assertThat(d.message()).isEqualTo("Placed on host a.");
  }

  @Test
  void theFirstFailingCheckDecidesInOrderDisabledOwnerQuotaHosts() {
    VirtualMachine vm = vm("user-a", "web", 16); // fits no host
    vm.getSpec().owner = "eve";
    List<User> users = List.of(user("alice", "user-a", true), user("eve", "user-eve", false));
    List<Quota> full = List.of(vmQuota(0));

    assertThat(Scheduling.decide(inputs(vm, users, full, Optional.empty(), cluster(8))).reason())
        .isEqualTo(Reasons.USER_DISABLED);
    users = List.of(user("alice", "user-a", false), user("eve", "user-eve", false));
    Scheduling.Decision owner =
        Scheduling.decide(inputs(vm, users, full, Optional.empty(), cluster(8)));
    assertThat(owner.reason()).isEqualTo(Reasons.OWNER_MISMATCH);
    assertThat(owner.message()).contains("whose namespace is user-eve");

    vm.getSpec().owner = null;
    Scheduling.Decision quota =
        Scheduling.decide(inputs(vm, users, full, Optional.empty(), cluster(8)));
    assertThat(quota)
        .isEqualTo(
            new Scheduling.Pending(
                Reasons.QUOTA_EXCEEDED, "quota exceeded: q: VMs 0 of 0 used", true));

    Scheduling.Decision hosts =
        Scheduling.decide(inputs(vm, users, List.of(), Optional.empty(), cluster(8)));
    assertThat(hosts)
        .isEqualTo(
            new Scheduling.Pending(
                Reasons.UNSCHEDULABLE,
                "No host fits: 1 host lacks vCPUs: need 16, largest free 8.",
                false));
  }

  @Test
  void aYoungerVmWaitsBehindAnOlderQuotaWaiterEvenIfItFits() {
    Scheduling.Decision d =
        Scheduling.decide(
            inputs(
                vm("user-a", "young", 1),
                List.of(),
                List.of(vmQuota(5)),
                Optional.of("user-a/old"),
                cluster(8)));
    assertThat(d)
        .isEqualTo(
            new Scheduling.Pending(
                Reasons.QUOTA_EXCEEDED, "waiting for quota behind the older VM old", true));
  }

  @Test
  void aPlacementStatusCarriesHostAllocationAddressesAndScheduledTrue() {
    VirtualMachine vm = vm("user-a", "web", 2);
    VirtualMachineStatus s =
        Scheduling.status(
            vm,
            new Scheduling.Place("a", new Amounts(2, GI, 10 * GI)),
            "gw:2222",
            "vm.example",
            NOW);
    assertThat(s.nodeName).isEqualTo("a");
    assertThat(s.allocated.cpus).isEqualTo(2);
    assertThat(s.allocated.memory).isEqualTo("1Gi");
    assertThat(s.phase).isEqualTo(VmPhase.Scheduled);
    assertThat(s.observedGeneration).isEqualTo(3L);
    assertThat(s.sshCommand).isEqualTo("ssh -J gw:2222 vmctl@web");
    assertThat(s.url).isEqualTo("https://web.vm.example/");
    Condition c = Conditions.find(s.conditions, ConditionTypes.SCHEDULED).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("True");
    assertThat(c.getObservedGeneration()).isEqualTo(3L);
    assertThat(c.getLastTransitionTime()).isEqualTo("2026-12-01T19:49:59Z");
  }

  @Test
  void aRepeatedPendingDecisionIsNoNewsAndKeepsItsTransitionTime() {
    VirtualMachine vm = vm("user-a", "web", 2);
    Scheduling.Pending pending = new Scheduling.Pending(Reasons.UNSCHEDULABLE, "No host.", false);
    assertThat(Scheduling.news(vm, pending)).isTrue();
    vm.setStatus(Scheduling.status(vm, pending, "gw", "d", NOW));
    assertThat(Scheduling.news(vm, pending)).isFalse();
    VirtualMachineStatus later = Scheduling.status(vm, pending, "gw", "d", NOW.plusSeconds(25));
    assertThat(later.phase).isEqualTo(VmPhase.Pending);
    assertThat(later.phaseTransitions).hasSize(1);
    assertThat(
            Conditions.find(later.conditions, ConditionTypes.SCHEDULED)
                .orElseThrow()
                .getLastTransitionTime())
        .isEqualTo("2026-12-01T19:49:59Z");
    Scheduling.Pending other = new Scheduling.Pending(Reasons.UNSCHEDULABLE, "Still none.", false);
    assertThat(Scheduling.news(vm, other)).isTrue();
  }
}
