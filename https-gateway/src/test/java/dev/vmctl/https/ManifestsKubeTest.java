package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The HTTPS gateway's manifests pass a server-side dry run and grant only what it needs. */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class ManifestsKubeTest {
  private static final Path MANIFESTS =
      Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests/https-gateway");

  @Test
  void manifestsPassServerSideDryRun(KubeEnv env) {
    KubeEnv.Result ns =
        env.kubectlWithInput(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vmctl-system\n",
            "apply",
            "-f",
            "-");
    assertThat(ns.ok()).as(ns.stderr()).isTrue();
    KubeEnv.Result result =
        env.kubectl(
            "apply", "--namespace=vmctl-system", "--dry-run=server", "-k", MANIFESTS.toString());
    assertThat(result.ok()).as(result.stderr()).isTrue();
    assertThat(result.stdout())
        .contains("deployment.apps/vmctl-https-gateway created (server dry run)")
        .contains("service/vmctl-https-gateway created (server dry run)")
        .contains("poddisruptionbudget.policy/vmctl-https-gateway created (server dry run)");
  }

  @Test
  void rolesAllowReadingAndTheKeyButNoWrites(KubeEnv env) {
    KubeEnv.Result ns =
        env.kubectlWithInput(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vmctl-system\n",
            "apply",
            "-f",
            "-");
    assertThat(ns.ok()).as(ns.stderr()).isTrue();
    for (String file :
        new String[] {
          "010-serviceaccount.yaml",
          "020-clusterrole.yaml",
          "030-clusterrolebinding.yaml",
          "040-role.yaml"
        }) {
      KubeEnv.Result applied =
          env.kubectl(
              "apply", "--namespace=vmctl-system", "-f", MANIFESTS.resolve(file).toString());
      assertThat(applied.ok()).as(file + ": " + applied.stderr()).isTrue();
    }
    String sa = "--as=system:serviceaccount:vmctl-system:vmctl-https-gateway";
    assertThat(can(env, sa, "watch", "virtualmachines.vmctl.dev", "--all-namespaces"))
        .isEqualTo("yes");
    assertThat(can(env, sa, "list", "users.vmctl.dev", "--all-namespaces")).isEqualTo("yes");
    assertThat(can(env, sa, "watch", "shares.vmctl.dev", "--all-namespaces")).isEqualTo("yes");
    assertThat(can(env, sa, "list", "secrets", "--all-namespaces")).isEqualTo("yes");
    assertThat(can(env, sa, "delete", "virtualmachines.vmctl.dev", "--all-namespaces"))
        .isEqualTo("no");
    assertThat(can(env, sa, "update", "users.vmctl.dev", "--all-namespaces")).isEqualTo("no");
    assertThat(can(env, sa, "create", "shares.vmctl.dev", "--all-namespaces")).isEqualTo("no");
    assertThat(can(env, sa, "get", "secrets", "--namespace=user-x")).isEqualTo("no");
    assertThat(can(env, sa, "create", "secrets", "--namespace=user-x")).isEqualTo("no");
    assertThat(can(env, sa, "get", "secrets/vmctl-gateway-key", "--namespace=vmctl-system"))
        .isEqualTo("yes");
    assertThat(can(env, sa, "get", "secrets/other", "--namespace=vmctl-system")).isEqualTo("no");
    assertThat(can(env, sa, "create", "secrets", "--namespace=vmctl-system")).isEqualTo("yes");
    assertThat(can(env, sa, "delete", "secrets", "--namespace=vmctl-system")).isEqualTo("no");
  }

  private static String can(KubeEnv env, String as, String verb, String resource, String scope) {
    return env.kubectl("auth", "can-i", verb, resource, as, scope).stdout().trim();
  }
}
