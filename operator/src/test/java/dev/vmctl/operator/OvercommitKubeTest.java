package dev.vmctl.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.status.Admission;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 15 against a real kube-apiserver: vCPUs against cores times the overcommit ratio, stopped
 * VMs giving back CPU and memory and waiting on their own host to run again, root and data disks in
 * the quota, and a new leader's ledger agreeing with the old one's.
 */
@ExtendWith(KubeApiServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("kube")
class OvercommitKubeTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  KubernetesClient client;
  KubeEnv env;
  VmctlOperator operator;
  String ns;

  @BeforeAll
  void startOperator(KubeEnv env) throws Exception {
    this.env = env;
    client = env.client();
    ns = env.namespace();
    operator =
        VmctlOperator.start(env.server().adminClient(), OperatorKubeTest.config(ns), "op-oc-a");
    await().atMost(WAIT).until(operator::isLeader);
  }

  @AfterAll
  void stopOperator() {
    operator.close();
  }

  String namespace(String name) {
    String full = ns + "-" + name;
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(full).endMetadata().build())
        .create();
    return full;
  }

  VirtualMachine create(String namespace, String name, String label) {
    return client.resource(vm(namespace, name, label)).create();
  }

  static VirtualMachine vm(String namespace, String name, String label) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(namespace);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 1;
    vm.getSpec().memory = "1Gi";
    vm.getSpec().nodeSelector = Map.of("t", label);
    return vm;
  }

  VirtualMachine get(String namespace, String name) {
    return client.resources(VirtualMachine.class).inNamespace(namespace).withName(name).get();
  }

  VirtualMachine awaitVm(String namespace, String name, Predicate<VirtualMachine> p) {
    await()
        .atMost(WAIT)
        .until(
            () -> {
              VirtualMachine vm = get(namespace, name);
              return vm != null && vm.getStatus() != null && p.test(vm);
            });
    return get(namespace, name);
  }

  /** Sets runStrategy, again on a conflict with a status writer. */
  void runStrategy(String namespace, String name, RunStrategy strategy) {
    await()
        .atMost(WAIT)
        .until(
            () -> {
              try {
                dev.vmctl.api.kube.Edits.edit(
                    client.resources(VirtualMachine.class).inNamespace(namespace).withName(name),
                    vm -> {
                      vm.getSpec().runStrategy = strategy;
                      return vm;
                    });
                return true;
              } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409) {
                  throw e;
                }
                return false;
              }
            });
  }

  static boolean running(VirtualMachine vm) {
    return vm.getStatus().phase == VmPhase.Running && Admission.granted(vm.getStatus());
  }

  static Condition scheduled(VirtualMachine vm) {
    return Conditions.find(vm.getStatus().conditions, ConditionTypes.SCHEDULED).orElseThrow();
  }

  List<Event> warnings(String namespace, String vm) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> vm.equals(e.getInvolvedObject().getName()))
        .filter(e -> "Warning".equals(e.getType()))
        .toList();
  }

  /**
   * A 2-core host at 4 vCPUs per core takes eight 1-vCPU VMs and refuses the ninth; halting one
   * frees room the ninth gets; un-halting the first waits on its host (Scheduled=False, one
   * Warning) and it runs again once the ninth is deleted.
   */
  @Test
  void twoCoresAtRatioFourTakeEightVcpusAndAHaltedVmGivesItsRoomBack() {
    String n = namespace("ratio");
    try (FakeNodeDaemon node =
        FakeNodeDaemon.overcommitted(
            client, Map.of("oc-1", Map.of("t", "ratio")), 2, 4, "64Gi", "512Mi")) {
      for (int i = 1; i <= 8; i++) {
        create(n, "vm-" + i, "ratio");
      }
      for (int i = 1; i <= 8; i++) {
        assertThat(awaitVm(n, "vm-" + i, OvercommitKubeTest::running).getStatus().nodeName)
            .isEqualTo("oc-1");
      }
      create(n, "ninth", "ratio");
      VirtualMachine ninth =
          awaitVm(
              n,
              "ninth",
              vm ->
                  Conditions.sameReason(
                      vm.getStatus().conditions, ConditionTypes.SCHEDULED, Reasons.UNSCHEDULABLE));
      assertThat(scheduled(ninth).getMessage())
          .isEqualTo("No host fits: 1 host lacks vCPUs: need 1, largest free 0.");

      runStrategy(n, "vm-1", RunStrategy.Halted);
      VirtualMachine halted =
          awaitVm(
              n,
              "vm-1",
              vm -> vm.getStatus().phase == VmPhase.Stopped && !Admission.granted(vm.getStatus()));
      assertThat(halted.getStatus().nodeName).as("keeps its host").isEqualTo("oc-1");
      assertThat(halted.getStatus().allocated.disk).as("keeps its data volume").isEqualTo("10Gi");
      assertThat(halted.getStatus().allocated.rootDisk).isEqualTo("10Gi");
      assertThat(scheduled(halted).getReason()).isEqualTo(Reasons.RELEASED);
      assertThat(awaitVm(n, "ninth", OvercommitKubeTest::running).getStatus().nodeName)
          .as("the halted VM's vCPU went to the waiting one")
          .isEqualTo("oc-1");

      runStrategy(n, "vm-1", RunStrategy.Always);
      VirtualMachine waiting =
          awaitVm(
              n,
              "vm-1",
              vm ->
                  Conditions.sameReason(
                      vm.getStatus().conditions,
                      ConditionTypes.SCHEDULED,
                      Reasons.INSUFFICIENT_RESOURCES));
      String message =
          "Waiting to start: host oc-1, where its disks are, has 0 vCPUs free, 1 needed. It"
              + " starts when room frees there.";
      assertThat(scheduled(waiting).getStatus()).isEqualTo("False");
      assertThat(scheduled(waiting).getMessage()).isEqualTo(message);
      assertThat(waiting.getStatus().phase).as("not started").isEqualTo(VmPhase.Stopped);
      assertThat(Admission.granted(waiting.getStatus())).isFalse();
      await().atMost(WAIT).until(() -> !warnings(n, "vm-1").isEmpty());
      // Heartbeats (every 500 ms here) reconcile it again and again while it waits.
      await()
          .during(Duration.ofSeconds(2))
          .atMost(WAIT)
          .until(() -> !Admission.granted(get(n, "vm-1").getStatus()));
      assertThat(warnings(n, "vm-1"))
          .singleElement()
          .satisfies(
              e -> {
                assertThat(e.getReason()).isEqualTo(Reasons.FAILED_SCHEDULING);
                assertThat(e.getMessage()).isEqualTo(message);
                assertThat(e.getCount()).as("one Warning, not one per pass").isEqualTo(1);
              });

      client.resource(get(n, "ninth")).delete();
      VirtualMachine back = awaitVm(n, "vm-1", OvercommitKubeTest::running);
      assertThat(back.getStatus().nodeName).isEqualTo("oc-1");
      assertThat(back.getStatus().allocated.cpus).isEqualTo(1);
      assertThat(back.getStatus().allocated.memory).isEqualTo("1Gi");
      assertThat(scheduled(back).getReason()).isEqualTo(Reasons.ADMITTED);
    }
  }

  /** Disk in a quota is root and data volumes together; the VM's allocation keeps them apart. */
  @Test
  void theQuotaCountsRootAndDataDisks() {
    String n = namespace("disk");
    Quota quota = new Quota();
    quota.getMetadata().setName("q");
    quota.getMetadata().setNamespace(n);
    quota.setSpec(new Quota.Spec());
    quota.getSpec().hard = new Quota.Amounts(null, null, null, "45Gi");
    client.resource(quota).create();
    try (FakeNodeDaemon node =
        FakeNodeDaemon.overcommitted(
            client, Map.of("oc-disk", Map.of("t", "disk")), 2, 4, "64Gi", "512Mi")) {
      create(n, "a", "disk");
      VirtualMachine b = vm(n, "b", "disk");
      b.getSpec().disk = "15Gi";
      b.getSpec().rootDisk = "5Gi";
      client.resource(b).create();
      VirtualMachine a = awaitVm(n, "a", OvercommitKubeTest::running);
      assertThat(a.getStatus().allocated.disk).isEqualTo("10Gi");
      assertThat(a.getStatus().allocated.rootDisk).isEqualTo("10Gi");
      awaitVm(n, "b", OvercommitKubeTest::running);
      await()
          .atMost(WAIT)
          .until(
              () -> {
                Quota q = client.resources(Quota.class).inNamespace(n).withName("q").get();
                return q.getStatus() != null
                    && q.getStatus().used != null
                    && "40Gi".equals(q.getStatus().used.disk);
              });
      create(n, "c", "disk");
      VirtualMachine c =
          awaitVm(
              n,
              "c",
              vm ->
                  Conditions.sameReason(
                      vm.getStatus().conditions, ConditionTypes.SCHEDULED, Reasons.QUOTA_EXCEEDED));
      assertThat(scheduled(c).getMessage())
          .isEqualTo("quota exceeded: q: disk (root and data) need 20Gi, 5Gi of 45Gi left");
    }
  }

  /**
   * A new leader rebuilds the ledger from status.allocated: a halted VM's released room is free for
   * it too, and nothing is counted twice.
   */
  @Test
  void aNewLeaderCountsReleasedRoomAsTheOldOneDid() throws Exception {
    String n = namespace("rebuild");
    try (FakeNodeDaemon node =
        FakeNodeDaemon.overcommitted(
            client, Map.of("oc-rb", Map.of("t", "rebuild")), 1, 2, "64Gi", "512Mi")) {
      create(n, "one", "rebuild");
      create(n, "two", "rebuild");
      awaitVm(n, "one", OvercommitKubeTest::running);
      awaitVm(n, "two", OvercommitKubeTest::running);
      runStrategy(n, "one", RunStrategy.Halted);
      awaitVm(n, "one", vm -> !Admission.granted(vm.getStatus()));

      operator.close();
      operator =
          VmctlOperator.start(env.server().adminClient(), OperatorKubeTest.config(ns), "op-oc-b");
      await().atMost(WAIT).until(operator::isLeader);

      create(n, "three", "rebuild");
      assertThat(awaitVm(n, "three", OvercommitKubeTest::running).getStatus().nodeName)
          .as("the released vCPU is free for the new leader")
          .isEqualTo("oc-rb");
      create(n, "four", "rebuild");
      VirtualMachine four =
          awaitVm(
              n,
              "four",
              vm ->
                  Conditions.sameReason(
                      vm.getStatus().conditions, ConditionTypes.SCHEDULED, Reasons.UNSCHEDULABLE));
      assertThat(scheduled(four).getMessage())
          .isEqualTo("No host fits: 1 host lacks vCPUs: need 1, largest free 0.");
      runStrategy(n, "one", RunStrategy.Always);
      awaitVm(
          n,
          "one",
          vm ->
              Conditions.sameReason(
                  vm.getStatus().conditions,
                  ConditionTypes.SCHEDULED,
                  Reasons.INSUFFICIENT_RESOURCES));
    }
  }
}
