package dev.vmctl.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CRDs in crds/, installed in a real kube-apiserver, accept, default and reject as documented.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class ApiValidationKubeTest {

  private static final String VM =
      """
      apiVersion: vmctl.dev/v1alpha1
      kind: VirtualMachine
      metadata:
        name: %s
      spec:
      %s
      """;

  private static String vm(String name, String specLines) {
    String indented = specLines.isBlank() ? "  {}" : specLines.indent(2).stripTrailing();
    return VM.formatted(name, indented);
  }

  @Test
  void examplesAreAcceptedAndReapplyingChangesNothing(KubeEnv env) {
    Path examples = Path.of(System.getProperty("vmctl.repo", "..")).resolve("examples");
    KubeEnv.Result first = env.kubectl("apply", "--server-side", "-f", examples.toString());
    assertThat(first.ok()).as(first.stderr()).isTrue();
    KubeEnv.Result again = env.kubectl("apply", "--server-side", "-f", examples.toString());
    assertThat(again.ok()).as(again.stderr()).isTrue();
    assertThat(again.stdout()).doesNotContain(" created").contains("serverside-applied");
    KubeEnv.Result all = env.kubectl("get", "vmctl", "-o", "name");
    assertThat(all.stdout())
        .contains(
            "virtualmachine.vmctl.dev/hello",
            "virtualmachine.vmctl.dev/web",
            "share.vmctl.dev/web-grace",
            "share.vmctl.dev/web-link",
            "quota.vmctl.dev/default");
  }

  @Test
  void defaultsAreFilledInByTheApiServer(KubernetesClient client) {
    VirtualMachine created =
        client
            .resources(VirtualMachine.class)
            .load(
                new java.io.ByteArrayInputStream(
                    vm("defaults", "").getBytes(java.nio.charset.StandardCharsets.UTF_8)))
            .create();
    VirtualMachineSpec spec = created.getSpec();
    assertThat(spec.image).isEqualTo("debian-12");
    assertThat(spec.cpus).isEqualTo(1);
    assertThat(spec.memory).isEqualTo("1Gi");
    assertThat(spec.disk).isEqualTo("10Gi");
    assertThat(spec.runStrategy).isEqualTo(RunStrategy.Always);
    assertThat(spec.paused).isFalse();
    assertThat(spec.maxCpus).isNull();
  }

  @Test
  void aVmWithNoSpecAtAllGetsTheDefaults(KubeEnv env, KubernetesClient client) {
    // examples/vm-minimal.yaml has no spec; defaults apply only inside an object that exists.
    KubeEnv.Result created =
        env.kubectlWithInput(
            "apiVersion: vmctl.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: bare\n",
            "apply",
            "-f",
            "-");
    assertThat(created.ok()).as(created.stderr()).isTrue();
    VirtualMachineSpec spec =
        client.resources(VirtualMachine.class).withName("bare").get().getSpec();
    assertThat(spec).isNotNull();
    assertThat(spec.image).isEqualTo("debian-12");
    assertThat(spec.cpus).isEqualTo(1);
    assertThat(spec.disk).isEqualTo("10Gi");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          cpus 0               | cpus: 0                          | spec.cpus: Invalid value: 0: spec.cpus in body should be greater than or equal to 1
          maxCpus below cpus   | cpus: 4\\nmaxCpus: 2              | maxCpus must be at least cpus
          memory lots          | memory: lots                     | memory must be a quantity such as 512Mi or 4Gi
          memory too small     | memory: 64Mi                     | memory must be at least 128Mi
          maxMemory below      | memory: 4Gi\\nmaxMemory: 2Gi      | maxMemory must be at least memory
          disk too small       | disk: 100Mi                      | disk must be at least 1Gi
          runStrategy unknown  | runStrategy: Sometimes           | Unsupported value: "Sometimes": supported values: "Always", "Halted", "RerunOnFailure"
          image not a name     | image: Debian_12                 | spec.image in body should match
          http port too big    | http: {port: 70000}              | spec.http.port in body should be less than or equal to 65535
          """)
  void invalidVirtualMachinesAreRejected(String name, String spec, String message, KubeEnv env) {
    String manifest = vm("bad", spec.replace("\\n", "\n"));
    KubeEnv.Result result = env.kubectlWithInput(manifest, "create", "-f", "-");
    assertThat(result.ok()).as("accepted: " + manifest).isFalse();
    assertThat(result.stderr()).contains(message);
  }

  @Test
  void shareNeedsExactlyOneGrant(KubeEnv env) {
    String both =
        """
        apiVersion: vmctl.dev/v1alpha1
        kind: Share
        metadata:
          name: both
        spec:
          vm: web
          email: grace@example.com
          public: true
        """;
    assertRejected(
        env,
        both,
        "a Share grants access in exactly one way: set email, or link: true, or public: true");
    String none = both.replace("  email: grace@example.com\n", "").replace("public: true", "{}");
    assertRejected(env, none.replace("  {}\n", ""), "exactly one way");
    String badEmail = both.replace("  public: true\n", "").replace("grace@example.com", "grace");
    assertRejected(env, badEmail, "email must be an address such as ada@example.com");
    String badExpiry = both.replace("  public: true\n", "expiresAt: tomorrow\n".indent(2));
    assertRejected(
        env, badExpiry, "expiresAt must be an RFC 3339 time such as 2026-12-31T23:59:59Z");
  }

  @Test
  void ownerAndImageCannotChangeOnceSetButOtherFieldsCan(KubeEnv env) {
    assertThat(
            env.kubectlWithInput(vm("owned", "owner: ada\ndisk: 20Gi"), "create", "-f", "-").ok())
        .isTrue();
    KubeEnv.Result owner =
        env.kubectl("patch", "vm", "owned", "--type=merge", "-p", "{\"spec\":{\"owner\":\"eve\"}}");
    assertThat(owner.ok()).isFalse();
    assertThat(owner.stderr()).contains("owner cannot be changed once set");
    KubeEnv.Result removeOwner =
        env.kubectl(
            "patch",
            "vm",
            "owned",
            "--type=json",
            "-p",
            "[{\"op\":\"remove\",\"path\":\"/spec/owner\"}]");
    assertThat(removeOwner.stderr()).contains("owner cannot be changed once set");
    KubeEnv.Result image =
        env.kubectl(
            "patch", "vm", "owned", "--type=merge", "-p", "{\"spec\":{\"image\":\"arch\"}}");
    assertThat(image.stderr()).contains("image cannot be changed; create a new VM");
    KubeEnv.Result shrink =
        env.kubectl("patch", "vm", "owned", "--type=merge", "-p", "{\"spec\":{\"disk\":\"10Gi\"}}");
    assertThat(shrink.stderr()).contains("disk cannot shrink");
    KubeEnv.Result grow =
        env.kubectl(
            "patch",
            "vm",
            "owned",
            "--type=merge",
            "-p",
            "{\"spec\":{\"disk\":\"30Gi\",\"cpus\":2}}");
    assertThat(grow.ok()).as(grow.stderr()).isTrue();
    // An owner may be set later on a VM created without one.
    env.kubectlWithInput(vm("unowned", ""), "create", "-f", "-");
    KubeEnv.Result setOwner =
        env.kubectl(
            "patch", "vm", "unowned", "--type=merge", "-p", "{\"spec\":{\"owner\":\"ada\"}}");
    assertThat(setOwner.ok()).as(setOwner.stderr()).isTrue();
  }

  @Test
  void kubectlGetShowsPhaseNodeIpReadyAge(KubeEnv env, KubernetesClient client) {
    env.kubectlWithInput(vm("shown", ""), "create", "-f", "-");
    VirtualMachine vm = client.resources(VirtualMachine.class).withName("shown").get();
    VirtualMachineStatus status = new VirtualMachineStatus();
    status.phase = VmPhase.Running;
    status.nodeName = "node-a1";
    status.ipAddress = "10.100.0.7";
    status.conditions =
        List.of(
            new ConditionBuilder()
                .withType("Ready")
                .withStatus("True")
                .withReason("AgentConnected")
                .withMessage("The guest agent answered.")
                .withLastTransitionTime("2026-11-23T00:00:00Z")
                .withObservedGeneration(1L)
                .build());
    vm.setStatus(status);
    client.resource(vm).updateStatus();

    KubeEnv.Result get = env.kubectl("get", "vm", "shown");
    assertThat(get.ok()).as(get.stderr()).isTrue();
    String[] lines = get.stdout().split("\n");
    assertThat(lines[0].split("\\s+"))
        .containsExactly("NAME", "PHASE", "NODE", "IP", "READY", "AGE");
    assertThat(lines[1].split("\\s+"))
        .startsWith("shown", "Running", "node-a1", "10.100.0.7", "True");
    KubeEnv.Result selected =
        env.kubectl("get", "vm", "--field-selector", "status.phase=Running", "-o", "name");
    assertThat(selected.stdout().trim()).isEqualTo("virtualmachine.vmctl.dev/shown");
  }

  @Test
  void hostCpuOvercommitIsCheckedAndKubectlGetShowsCoresRatioAndVcpus(
      KubeEnv env, KubernetesClient client) {
    String host =
        """
        apiVersion: vmctl.dev/v1alpha1
        kind: Host
        metadata:
          name: ratio-host
        spec:
          cpuOvercommit: RATIO
        """;
    String message = "cpuOvercommit must be a whole number of vCPUs per core from 1 to 32";
    assertRejected(env, host.replace("RATIO", "0"), message);
    assertRejected(env, host.replace("RATIO", "33"), message);
    KubeEnv.Result created = env.kubectlWithInput(host.replace("RATIO", "8"), "create", "-f", "-");
    assertThat(created.ok()).as(created.stderr()).isTrue();
    try {
      client
          .resources(Host.class)
          .withName("ratio-host")
          .editStatus(
              h -> {
                Host.Status s = new Host.Status();
                s.capacity = new ResourceAmounts(2, "8Gi", "100Gi");
                s.cpuOvercommit = 8;
                s.allocatable = new ResourceAmounts(16, "7Gi", "100Gi");
                s.allocated = new ResourceAmounts(3, "3Gi", "40Gi");
                h.setStatus(s);
                return h;
              });
      String[] lines = env.kubectl("get", "host", "ratio-host").stdout().split("\n");
      assertThat(lines[0].split("\\s{2,}"))
          .startsWith(
              "NAME", "READY", "UNSCHEDULABLE", "CORES", "OVERCOMMIT", "VCPUS", "VCPUS USED");
      assertThat(lines[1].split("\\s+")).startsWith("ratio-host", "false", "2", "8", "16", "3");
    } finally {
      client.resources(Host.class).withName("ratio-host").delete();
    }
  }

  private static void assertRejected(KubeEnv env, String manifest, String message) {
    KubeEnv.Result result = env.kubectlWithInput(manifest, "create", "-f", "-");
    assertThat(result.ok()).as("accepted: " + manifest).isFalse();
    assertThat(result.stderr()).contains(message);
  }
}
