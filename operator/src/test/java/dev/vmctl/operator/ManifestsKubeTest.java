package dev.vmctl.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The operator's manifests are accepted by a real API server (server-side dry run). */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class ManifestsKubeTest {

  @Test
  void operatorManifestsPassServerSideDryRun(KubeEnv env) {
    Path manifests = Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests");
    // The namespace must exist for namespaced objects to be dry-run against it.
    KubeEnv.Result ns =
        env.kubectlWithInput(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vmctl-system\n",
            "apply",
            "-f",
            "-");
    assertThat(ns.ok()).as(ns.stderr()).isTrue();
    for (String component : new String[] {"crds", "operator", "node-daemon"}) {
      KubeEnv.Result result =
          env.kubectl(
              "apply",
              "--namespace=vmctl-system",
              "--dry-run=server",
              "-k",
              manifests.resolve(component).toString());
      assertThat(result.ok()).as(component + ": " + result.stderr()).isTrue();
      assertThat(result.stdout()).contains("(server dry run)");
    }
  }

  @Test
  void theWholeTreeAndTheServiceMonitorsPassServerSideDryRun(KubeEnv env) {
    Path manifests = Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests");
    env.kubectlWithInput(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vmctl-system\n", "apply", "-f", "-");
    KubeEnv.Result all =
        env.kubectl(
            "apply", "--namespace=vmctl-system", "--dry-run=server", "-k", manifests.toString());
    assertThat(all.ok()).as(all.stderr()).isTrue();
    assertThat(all.stdout())
        .contains(
            "deployment.apps/vmctl-operator",
            "daemonset.apps/vmctl-node-daemon",
            "deployment.apps/vmctl-ssh-gateway",
            "deployment.apps/vmctl-https-gateway");
    // ServiceMonitors need Prometheus Operator's CRD; a minimal stand-in makes them checkable.
    KubeEnv.Result crd = env.kubectlWithInput(SERVICE_MONITOR_CRD, "apply", "-f", "-");
    assertThat(crd.ok()).as(crd.stderr()).isTrue();
    env.kubectl("wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com");
    KubeEnv.Result monitors =
        env.kubectl(
            "apply",
            "--namespace=vmctl-system",
            "--dry-run=server",
            "-k",
            manifests.resolve("monitoring").toString());
    assertThat(monitors.ok()).as(monitors.stderr()).isTrue();
    assertThat(monitors.stdout())
        .contains("servicemonitor.monitoring.coreos.com/vmctl-https-gateway");
  }

  private static final String SERVICE_MONITOR_CRD =
      """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: servicemonitors.monitoring.coreos.com
      spec:
        group: monitoring.coreos.com
        scope: Namespaced
        names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor}
        versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                x-kubernetes-preserve-unknown-fields: true
      """;

  @Test
  void operatorRoleCannotCreateEditOrDeleteVmsOrListSecrets(KubeEnv env) {
    Path manifests = Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests");
    KubeEnv.Result applied =
        env.kubectl("apply", "-f", manifests.resolve("operator/020-clusterrole.yaml").toString());
    assertThat(applied.ok()).as(applied.stderr()).isTrue();
    env.kubectl(
        "create",
        "clusterrolebinding",
        "op-test-" + env.namespace(),
        "--clusterrole=vmctl-operator",
        "--user=op-test");
    assertThat(can(env, "patch", "virtualmachines.vmctl.dev")).isEqualTo("no"); // no label
    assertThat(can(env, "update", "virtualmachines.vmctl.dev")).isEqualTo("no");
    assertThat(can(env, "update", "virtualmachines.vmctl.dev/status")).isEqualTo("yes");
    assertThat(can(env, "create", "virtualmachines.vmctl.dev")).isEqualTo("no");
    assertThat(can(env, "delete", "virtualmachines.vmctl.dev")).isEqualTo("no");
    assertThat(can(env, "list", "secrets")).isEqualTo("no");
    assertThat(can(env, "create", "secrets")).isEqualTo("yes");
  }

  private static String can(KubeEnv env, String verb, String resource) {
    return canAs(env, "op-test", verb, resource);
  }

  @Test
  void nodeDaemonRoleCannotCreateOrDeleteVmsOrReadSecrets(KubeEnv env) {
    Path manifests = Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests");
    KubeEnv.Result applied =
        env.kubectl(
            "apply", "-f", manifests.resolve("node-daemon/020-clusterrole.yaml").toString());
    assertThat(applied.ok()).as(applied.stderr()).isTrue();
    env.kubectl(
        "create",
        "clusterrolebinding",
        "node-test-" + env.namespace(),
        "--clusterrole=vmctl-node-daemon",
        "--user=node-test");
    assertThat(canAs(env, "node-test", "update", "virtualmachines.vmctl.dev/status"))
        .isEqualTo("yes");
    assertThat(canAs(env, "node-test", "create", "virtualmachines.vmctl.dev")).isEqualTo("no");
    assertThat(canAs(env, "node-test", "delete", "virtualmachines.vmctl.dev")).isEqualTo("no");
    assertThat(canAs(env, "node-test", "get", "secrets")).isEqualTo("no");
    assertThat(canAs(env, "node-test", "delete", "hosts.vmctl.dev")).isEqualTo("no");
    assertThat(canAs(env, "node-test", "watch", "shares.vmctl.dev")).isEqualTo("yes");
    assertThat(canAs(env, "node-test", "update", "users.vmctl.dev")).isEqualTo("no");
  }

  /**
   * kubectl reads {@code virtualmachines/status} as the VM named "status"; a subresource needs
   * {@code --subresource}, so {@code x/status} is asked as that.
   */
  private static String canAs(KubeEnv env, String user, String verb, String resource) {
    int slash = resource.indexOf('/');
    java.util.List<String> args =
        new java.util.ArrayList<>(
            java.util.List.of(
                "auth",
                "can-i",
                verb,
                slash < 0 ? resource : resource.substring(0, slash),
                "--as=" + user,
                "--all-namespaces"));
    if (slash >= 0) {
      args.add("--subresource=" + resource.substring(slash + 1));
    }
    return env.kubectl(args.toArray(String[]::new)).stdout().trim();
  }
}
