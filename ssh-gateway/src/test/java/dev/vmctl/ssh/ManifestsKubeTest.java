package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The SSH gateway's manifests pass a server-side dry run, and its RBAC is what docs claim. */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class ManifestsKubeTest {
  private static final String SA = "system:serviceaccount:vmctl-system:vmctl-ssh-gateway";

  private static Path manifests() {
    return Path.of(System.getProperty("vmctl.repo", "..")).resolve("manifests/ssh-gateway");
  }

  @Test
  void manifestsPassServerSideDryRun(KubeEnv env) {
    ensureNamespace(env);
    KubeEnv.Result result =
        env.kubectl(
            "apply", "--namespace=vmctl-system", "--dry-run=server", "-k", manifests().toString());
    assertThat(result.ok()).as(result.stderr()).isTrue();
    assertThat(result.stdout())
        .containsPattern("deployment.apps/vmctl-ssh-gateway \\w+ \\(server dry run\\)")
        .containsPattern("service/vmctl-ssh-gateway \\w+ \\(server dry run\\)");
  }

  @Test
  void gatewayIdentityIsLeastPrivilege(KubeEnv env) {
    ensureNamespace(env);
    KubeEnv.Result applied =
        env.kubectl("apply", "--namespace=vmctl-system", "-k", manifests().toString());
    assertThat(applied.ok()).as(applied.stderr()).isTrue();
    // Users: read, register, edit keys; never delete.
    assertThat(can(env, "list", "users.vmctl.dev", null)).isEqualTo("yes");
    assertThat(can(env, "create", "users.vmctl.dev", null)).isEqualTo("yes");
    assertThat(can(env, "patch", "users.vmctl.dev", null)).isEqualTo("yes");
    assertThat(can(env, "delete", "users.vmctl.dev", null)).isEqualTo("no");
    // VMs and Shares: only as the person, never with the gateway's own identity.
    assertThat(can(env, "watch", "virtualmachines.vmctl.dev", null)).isEqualTo("yes");
    assertThat(can(env, "create", "virtualmachines.vmctl.dev", null)).isEqualTo("no");
    assertThat(can(env, "delete", "virtualmachines.vmctl.dev", null)).isEqualTo("no");
    assertThat(can(env, "create", "shares.vmctl.dev", null)).isEqualTo("no");
    // Secrets: get by name, no listing; creating only in its own namespace.
    assertThat(can(env, "get", "namespaces", null)).isEqualTo("yes");
    assertThat(can(env, "list", "namespaces", null)).isEqualTo("no");
    assertThat(can(env, "create", "namespaces", null)).isEqualTo("no");
    assertThat(can(env, "get", "secrets", null)).isEqualTo("yes");
    assertThat(can(env, "list", "secrets", null)).isEqualTo("no");
    assertThat(can(env, "watch", "secrets", null)).isEqualTo("no");
    assertThat(can(env, "create", "secrets", "vmctl-system")).isEqualTo("yes");
    assertThat(can(env, "create", "secrets", "default")).isEqualTo("no");
    assertThat(can(env, "patch", "configmaps/vmctl-ssh-gateway-keys", "vmctl-system"))
        .isEqualTo("yes");
    assertThat(can(env, "patch", "configmaps/other", "vmctl-system")).isEqualTo("no");
    // Impersonation of users only: not groups (no system:masters), not service accounts.
    // (asked directly: kubectl would resolve "users" to the vmctl.dev CRD)
    assertThat(mayImpersonate(env, "users", "vmctl:user:ada")).isTrue();
    assertThat(mayImpersonate(env, "groups", "system:masters")).isFalse();
    assertThat(mayImpersonate(env, "serviceaccounts", "default")).isFalse();
  }

  private static boolean mayImpersonate(KubeEnv env, String resource, String name) {
    var review =
        new io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder()
            .withNewSpec()
            .withUser(SA)
            .withGroups(
                "system:serviceaccounts",
                "system:serviceaccounts:vmctl-system",
                "system:authenticated")
            .withNewResourceAttributes()
            .withGroup("")
            .withResource(resource)
            .withVerb("impersonate")
            .withName(name)
            .withNamespace(resource.equals("serviceaccounts") ? "default" : null)
            .endResourceAttributes()
            .endSpec()
            .build();
    return env.client()
        .authorization()
        .v1()
        .subjectAccessReview()
        .create(review)
        .getStatus()
        .getAllowed();
  }

  private static void ensureNamespace(KubeEnv env) {
    KubeEnv.Result ns =
        env.kubectlWithInput(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vmctl-system\n",
            "apply",
            "-f",
            "-");
    assertThat(ns.ok()).as(ns.stderr()).isTrue();
  }

  private static String can(KubeEnv env, String verb, String resource, String namespace) {
    String scope = namespace == null ? "--all-namespaces" : "--namespace=" + namespace;
    return env.kubectl("auth", "can-i", verb, resource, "--as=" + SA, scope).stdout().trim();
  }
}
