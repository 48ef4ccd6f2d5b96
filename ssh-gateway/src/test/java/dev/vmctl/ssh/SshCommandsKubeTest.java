package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every gateway command through the real OpenSSH client against a real API server: registration,
 * happy paths, errors with their exit statuses, and another person's VM staying invisible.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class SshCommandsKubeTest {
  private static GatewayHarness gw;
  private static KubernetesClient client;
  private static String suffix;

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    gw = new GatewayHarness(env, Map.of());
    client = env.client();
    suffix = UUID.randomUUID().toString().substring(0, 6);
  }

  @AfterAll
  static void stop() throws Exception {
    gw.close();
  }

  private static String vmName(String base) {
    return base + "-" + suffix;
  }

  @Test
  void unknownKeyRegistersByCommandAndThenIsKnown() throws Exception {
    Path key = OpenSsh.newKey(gw.dir, "reg-" + suffix);
    OpenSsh.Result before = gw.ssh(key, "ls");
    assertThat(before.exit()).isEqualTo(1);
    assertThat(before.err()).contains("not registered");

    OpenSsh.Result bad = gw.ssh(key, "register", "not-an-email");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("not an email address").contains("usage: register");

    String email = "Grace.Hopper+" + suffix + "@example.com";
    OpenSsh.Result reg = gw.ssh(key, "register", email);
    assertThat(reg.exit()).as(reg.toString()).isZero();
    String name = "grace-hopper-" + suffix;
    assertThat(reg.out()).contains("welcome, " + name);
    User user = client.resources(User.class).withName(name).get();
    assertThat(user.getSpec().email).isEqualTo(email);
    assertThat(user.getSpec().sshKeys)
        .containsExactly(
            OpenSsh.publicKey(key).replace(" reg-" + suffix + "@test", "").trim() + "");

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(gw.ssh(key, "whoami").out()).contains("user:      " + name));
    OpenSsh.Result again = gw.ssh(key, "register", "other-" + suffix + "@example.com");
    assertThat(again.exit()).isEqualTo(1);
    assertThat(again.err()).contains("already registered");

    // The same email from another key is refused: it would be a second account for one person.
    Path other = OpenSsh.newKey(gw.dir, "reg2-" + suffix);
    OpenSsh.Result dup = gw.ssh(other, "register", email);
    assertThat(dup.exit()).isEqualTo(1);
    assertThat(dup.err()).contains("an account with this email exists");
  }

  @Test
  void interactiveShellRegistersThenRunsCommandsWithPrompt() throws Exception {
    Path key = OpenSsh.newKey(gw.dir, "shell-" + suffix);
    String email = "shell-" + suffix + "@example.com";
    OpenSsh.Result r = gw.sshWithInput(email + "\nwhoami\nbogus\nexit\n", key, "-tt", "localhost");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out())
        .contains("is not registered yet")
        .contains("Your email address:")
        .contains("welcome, shell-" + suffix)
        .contains(GatewayShell.PROMPT)
        .contains("email:     " + email)
        .contains("unknown command: bogus");
  }

  @Test
  void newListResizeStopStartRestartRm() throws Exception {
    Path key = gw.register("ada-" + suffix, "ada-" + suffix + "@example.com");
    String vm = vmName("web");
    OpenSsh.Result created =
        gw.ssh(key, "new", "--name", vm, "--cpus", "2", "--memory", "2Gi", "--disk", "20Gi");
    assertThat(created.exit()).as(created.toString()).isZero();
    assertThat(created.out())
        .contains("Running")
        .contains("ssh -p " + gw.port() + " " + vm + "@localhost")
        .contains("ssh -J localhost:" + gw.port() + " root@" + vm)
        .contains("https://" + vm + ".vm.example.test/");
    VirtualMachine stored =
        client.resources(VirtualMachine.class).inNamespace("user-ada-" + suffix).withName(vm).get();
    assertThat(stored.getSpec().owner).isEqualTo("ada-" + suffix);
    assertThat(stored.getSpec().cpus).isEqualTo(2);
    assertThat(stored.getSpec().disk).isEqualTo("20Gi");

    OpenSsh.Result taken = gw.ssh(key, "new", "--name", vm);
    assertThat(taken.exit()).isEqualTo(1);
    assertThat(taken.err()).contains("the name " + vm + " is taken");

    OpenSsh.Result generated = gw.ssh(key, "new");
    assertThat(generated.exit()).as(generated.toString()).isZero();
    Matcher m = Pattern.compile("creating ([a-z]+-[a-z]+-[0-9a-f]{4})").matcher(generated.out());
    assertThat(m.find()).isTrue();

    OpenSsh.Result ls = gw.ssh(key, "ls");
    assertThat(ls.out()).contains("NAME").contains("PHASE").contains(vm).contains(m.group(1));
    OpenSsh.Result json = gw.ssh(key, "ls", "--json");
    assertThat(json.exit()).isZero();
    assertThat(json.out())
        .contains("\"name\" : \"" + vm + "\"")
        .contains("\"phase\" : \"Running\"");

    assertThat(gw.ssh(key, "resize", vm, "--cpus", "4", "--memory", "4Gi").exit()).isZero();
    await()
        .untilAsserted(
            () -> {
              VirtualMachine v =
                  client
                      .resources(VirtualMachine.class)
                      .inNamespace("user-ada-" + suffix)
                      .withName(vm)
                      .get();
              assertThat(v.getSpec().cpus).isEqualTo(4);
              assertThat(v.getSpec().memory).isEqualTo("4Gi");
            });
    OpenSsh.Result badResize = gw.ssh(key, "resize", vm, "--cpus", "many");
    assertThat(badResize.exit()).isEqualTo(2);
    assertThat(badResize.err()).contains("--cpus must be a whole number");
    assertThat(gw.ssh(key, "resize", vm).exit()).isEqualTo(2);

    assertThat(gw.ssh(key, "stop", vm).exit()).isZero();
    assertThat(
            client
                .resources(VirtualMachine.class)
                .inNamespace("user-ada-" + suffix)
                .withName(vm)
                .get()
                .getSpec()
                .runStrategy)
        .isEqualTo(RunStrategy.Halted);
    assertThat(gw.ssh(key, "start", vm).exit()).isZero();
    assertThat(
            client
                .resources(VirtualMachine.class)
                .inNamespace("user-ada-" + suffix)
                .withName(vm)
                .get()
                .getSpec()
                .runStrategy)
        .isEqualTo(RunStrategy.Always);
    assertThat(gw.ssh(key, "restart", vm).exit()).isZero();
    assertThat(
            client
                .resources(VirtualMachine.class)
                .inNamespace("user-ada-" + suffix)
                .withName(vm)
                .get()
                .getMetadata()
                .getAnnotations())
        .containsKey(VirtualMachine.RESTARTED_AT_ANNOTATION);

    assertThat(gw.ssh(key, "rm", m.group(1)).exit()).isZero();
    await()
        .untilAsserted(
            () ->
                assertThat(
                        client
                            .resources(VirtualMachine.class)
                            .inNamespace("user-ada-" + suffix)
                            .withName(m.group(1))
                            .get())
                    .isNull());
    OpenSsh.Result gone = gw.ssh(key, "rm", m.group(1));
    assertThat(gone.exit()).isEqualTo(1);
    assertThat(gone.err()).contains("no VM named " + m.group(1));
  }

  /** Issue 19 item 3: a VM that cannot be placed says why, in new and in ls, at once. */
  @Test
  void aVmThatCannotBePlacedSaysWhyInNewAndInLs() throws Exception {
    Path key = gw.register("full-" + suffix, "full-" + suffix + "@example.com");
    String vm = vmName("huge");
    String why = "Quota default allows 4 vCPUs in total; this VM needs 64 more.";
    var phases = gw.phaseOf;
    gw.phaseOf = v -> v.getMetadata().getName().equals(vm) ? VmPhase.Pending : phases.apply(v);
    gw.conditionsOf =
        v ->
            v.getMetadata().getName().equals(vm)
                ? List.of(
                    new io.fabric8.kubernetes.api.model.ConditionBuilder()
                        .withType("Scheduled")
                        .withStatus("False")
                        .withReason("QuotaExceeded")
                        .withMessage(why)
                        .withLastTransitionTime("2026-12-02T00:00:00Z")
                        .build())
                : null;
    try {
      OpenSsh.Result created = gw.ssh(key, "new", "--name", vm, "--cpus", "64");
      assertThat(created.exit()).as(created.toString()).isEqualTo(1);
      assertThat(created.out()).contains("not started: " + why);
      assertThat(created.err()).contains(vm + " exists but cannot start yet");
      OpenSsh.Result ls = gw.ssh(key, "ls");
      assertThat(ls.out()).contains("NOTE").contains(why);
    } finally {
      gw.phaseOf = phases;
      gw.conditionsOf = v -> null;
    }
  }

  @Test
  void usageErrorsExitNonZeroWithShortUsage() throws Exception {
    Path key = gw.register("use-" + suffix, "use-" + suffix + "@example.com");
    OpenSsh.Result unknown = gw.ssh(key, "frobnicate");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("unknown command: frobnicate");
    OpenSsh.Result flag = gw.ssh(key, "ls", "--colour");
    assertThat(flag.exit()).isEqualTo(2);
    assertThat(flag.err()).contains("unknown flag --colour").contains("usage: ls");
    OpenSsh.Result missing = gw.ssh(key, "new", "--name");
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("--name needs a value");
    OpenSsh.Result badName = gw.ssh(key, "new", "--name", "Bad_Name");
    assertThat(badName.exit()).isEqualTo(2);
    OpenSsh.Result quote = gw.ssh(key, "share", "'unterminated");
    assertThat(quote.exit()).isEqualTo(2);
    for (String cmd : List.of("rm", "stop", "start", "restart")) {
      OpenSsh.Result none = gw.ssh(key, cmd, "nope-" + suffix);
      assertThat(none.exit()).as(cmd).isEqualTo(1);
      assertThat(none.err()).as(cmd).contains("no VM named nope-" + suffix);
      assertThat(gw.ssh(key, cmd).exit()).as(cmd + " without a VM").isEqualTo(2);
    }
    OpenSsh.Result help = gw.ssh(key, "help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("share <vm> add <email>").contains("keys add");
  }

  @Test
  void anotherPersonsVmIsInvisibleUntilSharedByEmail() throws Exception {
    Path owner = gw.register("own-" + suffix, "own-" + suffix + "@example.com");
    Path guest = gw.register("gst-" + suffix, "gst-" + suffix + "@example.com");
    String vm = vmName("priv");
    assertThat(gw.ssh(owner, "new", "--name", vm).exit()).isZero();

    assertThat(gw.ssh(guest, "ls").out()).doesNotContain(vm);
    for (String cmd : List.of("rm", "stop", "restart")) {
      OpenSsh.Result r = gw.ssh(guest, cmd, vm);
      assertThat(r.exit()).isEqualTo(1);
      assertThat(r.err().trim()).isEqualTo("no VM named " + vm); // exactly as for a missing VM
    }
    assertThat(gw.ssh(guest, "share", vm, "ls").err().trim()).isEqualTo("no VM named " + vm);
    // Creating a VM with the same name (in any namespace) is refused.
    assertThat(gw.ssh(guest, "new", "--name", vm).err()).contains("is taken");

    OpenSsh.Result share = gw.ssh(owner, "share", vm, "add", "GST-" + suffix + "@example.com");
    assertThat(share.exit()).as(share.toString()).isZero();
    assertThat(gw.ssh(owner, "share", vm, "add", "gst-" + suffix + "@example.com").out())
        .contains("already shared");
    await()
        .untilAsserted(() -> assertThat(gw.ssh(guest, "ls").out()).contains(vm).contains("shared"));
    OpenSsh.Result rmShared = gw.ssh(guest, "rm", vm);
    assertThat(rmShared.exit()).isEqualTo(1);
    assertThat(rmShared.err()).contains("only its owner can rm it");

    OpenSsh.Result list = gw.ssh(owner, "share", vm, "ls");
    assertThat(list.out()).contains("email").contains("GST-" + suffix + "@example.com");
    assertThat(gw.ssh(owner, "share", vm, "rm", "gst-" + suffix + "@example.com").exit()).isZero();
    await().untilAsserted(() -> assertThat(gw.ssh(guest, "ls").out()).doesNotContain(vm));
    OpenSsh.Result notShared = gw.ssh(owner, "share", vm, "rm", "nobody@example.com");
    assertThat(notShared.exit()).isEqualTo(1);
    assertThat(gw.ssh(owner, "share", vm, "add", "nonsense").exit()).isEqualTo(2);
    assertThat(gw.ssh(owner, "share", vm, "frob").exit()).isEqualTo(2);
  }

  @Test
  void linkPublicAndPrivateShares() throws Exception {
    Path key = gw.register("lnk-" + suffix, "lnk-" + suffix + "@example.com");
    String vm = vmName("site");
    String ns = "user-lnk-" + suffix;
    assertThat(gw.ssh(key, "new", "--name", vm).exit()).isZero();
    String link = "https://" + vm + ".vm.example.test/__vmctl/share/t0k3n";
    // Stand in for the operator's ShareReconciler: it writes the link once the Share exists.
    Thread operator =
        new Thread(
            () -> {
              await()
                  .atMost(Duration.ofSeconds(20))
                  .until(
                      () ->
                          client.resources(Share.class).inNamespace(ns).withName(vm + "-link").get()
                              != null);
              client
                  .resource(
                      new SecretBuilder()
                          .withNewMetadata()
                          .withName("share-" + vm + "-link")
                          .withNamespace(ns)
                          .withLabels(Map.of(Share.SHARE_LABEL, vm + "-link"))
                          .endMetadata()
                          .withStringData(Map.of("token", "t0k3n", "link", link))
                          .build())
                  .create();
            });
    operator.start();
    OpenSsh.Result linked = gw.ssh(key, "share", vm, "link");
    operator.join();
    assertThat(linked.exit()).as(linked.toString()).isZero();
    assertThat(linked.out().trim()).isEqualTo(link);
    assertThat(
            client
                .resources(Share.class)
                .inNamespace(ns)
                .withName(vm + "-link")
                .get()
                .getSpec()
                .link)
        .isTrue();

    assertThat(gw.ssh(key, "share", vm, "public").exit()).isZero();
    assertThat(
            client
                .resources(Share.class)
                .inNamespace(ns)
                .withName(vm + "-public")
                .get()
                .getSpec()
                .isPublic)
        .isTrue();
    await()
        .untilAsserted(
            () ->
                assertThat(gw.ssh(key, "share", vm, "ls", "--json").out())
                    .contains("\"kind\" : \"public\"")
                    .contains("\"kind\" : \"link\""));
    assertThat(gw.ssh(key, "share", vm, "private").exit()).isZero();
    await()
        .untilAsserted(
            () ->
                assertThat(
                        client
                            .resources(Share.class)
                            .inNamespace(ns)
                            .withName(vm + "-public")
                            .get())
                    .isNull());
    assertThat(gw.ssh(key, "share", vm, "rm", "link").exit()).isZero();
  }

  @Test
  void keysAddListRemoveAndLogin() throws Exception {
    Path key = gw.register("kay-" + suffix, "kay-" + suffix + "@example.com");
    Path second = OpenSsh.newKey(gw.dir, "kay2-" + suffix);
    OpenSsh.Result added = gw.ssh(key, "keys", "add", OpenSsh.publicKey(second));
    assertThat(added.exit()).as(added.toString()).isZero();
    await()
        .untilAsserted(
            () -> assertThat(gw.ssh(second, "whoami").out()).contains("user:      kay-" + suffix));
    OpenSsh.Result ls = gw.ssh(key, "keys", "ls");
    assertThat(ls.out()).contains("FINGERPRINT").contains("kay2-" + suffix + "@test");
    String fp =
        gw.ssh(second, "whoami")
            .out()
            .lines()
            .filter(l -> l.startsWith("key:"))
            .findFirst()
            .orElseThrow()
            .substring(4)
            .trim();
    assertThat(gw.ssh(key, "keys", "add", "ssh-ed25519 garbage").exit()).isEqualTo(2);
    // Another person's key cannot be added (it would lock them out).
    Path stranger = gw.register("str-" + suffix, "str-" + suffix + "@example.com");
    OpenSsh.Result theft = gw.ssh(key, "keys", "add", OpenSsh.publicKey(stranger));
    assertThat(theft.exit()).isEqualTo(1);
    assertThat(theft.err()).contains("belongs to another account");

    assertThat(gw.ssh(key, "keys", "rm", fp).exit()).isZero();
    await()
        .untilAsserted(() -> assertThat(gw.ssh(second, "whoami").err()).contains("not registered"));
    String last =
        gw.ssh(key, "whoami")
            .out()
            .lines()
            .filter(l -> l.startsWith("key:"))
            .findFirst()
            .orElseThrow()
            .substring(4)
            .trim();
    assertThat(gw.ssh(key, "keys", "rm", last).err()).contains("last key");

    OpenSsh.Result login = gw.ssh(key, "login");
    assertThat(login.exit()).isZero();
    Matcher m =
        Pattern.compile("https://vm\\.example\\.test/__vmctl/login/(\\S+)").matcher(login.out());
    assertThat(m.find()).as(login.out()).isTrue();
    SignedTokens tokens = new SignedTokens(GatewayHarness.GATEWAY_KEY, java.time.Clock.systemUTC());
    assertThat(tokens.verify(m.group(1), SignedTokens.Purpose.LOGIN))
        .get()
        .satisfies(c -> assertThat(c.subject()).isEqualTo("kay-" + suffix));
  }

  @Test
  void disabledUserIsRefused() throws Exception {
    Path key = gw.register("dis-" + suffix, "dis-" + suffix + "@example.com");
    dev.vmctl.api.kube.Edits.edit(
        client.resources(User.class).withName("dis-" + suffix),
        u -> {
          u.getSpec().disabled = true;
          return u;
        });
    await()
        .untilAsserted(
            () -> {
              OpenSsh.Result r = gw.ssh(key, "whoami");
              assertThat(r.exit()).isEqualTo(255);
              assertThat(r.err()).contains("Permission denied");
            });
  }
}
