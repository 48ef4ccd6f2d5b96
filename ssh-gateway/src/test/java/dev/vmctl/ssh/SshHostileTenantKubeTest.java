package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a hostile tenant tries through the SSH gateway, with the real OpenSSH client against a real
 * API server and a real sshd as the VMs. The attacker's key is installed in the victim's VM too, so
 * every refusal comes from the gateway. Tables: ProxyJump targets, login names, commands on
 * another's VM, bad input. The other half (sessions ended when access is withdrawn) is {@link
 * SshRevocationKubeTest}; registration takeover and other protocol cases are below; malformed
 * traffic is {@link SshSafetyKubeTest}.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("host")
@Tag("kube")
class SshHostileTenantKubeTest {
  private static GatewayHarness gw;
  private static KubernetesClient admin;
  private static KubeEnv kube;
  private static NetnsSshd vm;
  private static String s;
  private static Path attacker;
  private static Path victim;

  /** Victim's VM, not shared; victim's VM shared with the attacker; the attacker's own VM. */
  private static String vb;

  private static String vs;
  private static String va;
  private static VirtualMachineSpec vbSpec;

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    kube = env;
    gw = new GatewayHarness(env, Map.of());
    admin = env.client();
    s = UUID.randomUUID().toString().substring(0, 6);
    attacker = gw.register("atk-" + s, "atk-" + s + "@attacker.example");
    victim = gw.register("vic-" + s, "vic-" + s + "@example.com");
    vm =
        new NetnsSshd(
            gw.dir,
            List.of(
                OpenSsh.publicKey(attacker),
                OpenSsh.publicKey(victim),
                ProxyKeyPublisher.authorizedKeysLine(gw.proxyKey)));
    vb = "vb-" + s;
    vs = "vs-" + s;
    va = "va-" + s;
    for (String name : List.of(vb, vs, va)) {
      gw.vmAt(name, vm);
    }
    assertThat(gw.ssh(victim, "new", "--name", vb).exit()).isZero();
    assertThat(gw.ssh(victim, "new", "--name", vs).exit()).isZero();
    assertThat(gw.ssh(attacker, "new", "--name", va).exit()).isZero();
    assertThat(gw.ssh(victim, "share", vs, "add", "atk-" + s + "@attacker.example").exit())
        .isZero();
    vbSpec = victimVm(vb).getSpec();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (vm != null) {
        vm.close();
      }
    } finally {
      gw.close();
    }
  }

  private static String fill(String template) {
    URI api = URI.create(kube.server().adminConfig().getMasterUrl());
    return template
        .replace("{vb}", vb)
        .replace("{VB}", vb.toUpperCase(java.util.Locale.ROOT))
        .replace("{vs}", vs)
        .replace("{va}", va)
        .replace("{ip}", vm.address)
        .replace("{gwport}", String.valueOf(gw.port()))
        .replace("{api}", api.getHost() + ":" + api.getPort())
        .replace("{victim}", "vic-" + s)
        .replace("{attacker-email}", "atk-" + s + "@attacker.example")
        .replace("{long}", "x".repeat(300));
  }

  private static VirtualMachine victimVm(String name) {
    return admin.resources(VirtualMachine.class).inNamespace("user-vic-" + s).withName(name).get();
  }

  // ---------------------------------------------------------------- ProxyJump (direct-tcpip)

  static Stream<String> refusedJumpTargets() {
    return Stream.of(
        "{vb}:22", // another tenant's VM
        "{VB}:22", // ... in capitals
        "{vb}.vm.example.test:22", // ... by its web name
        "{vb}.vm.example.test.:22", // ... fully qualified
        "{vb}.user-{victim}:22", // ... namespace-qualified guesses
        "user-{victim}.{vb}:22",
        "{ip}:22", // a VM's address, even one the attacker may reach by name
        "127.0.0.1:22", // the gateway host itself
        "localhost:22",
        "[::1]:22",
        "0.0.0.0:22",
        "127.0.0.1:{gwport}", // the gateway's own port
        "{api}", // the API server
        "kubernetes.default.svc:443",
        "{va}:80", // own VM, other ports
        "{va}:2222",
        "{va}:65535",
        "{vs}:25", // shared VM, other port
        "{vb};id:22", // metacharacters and junk
        "$(id):22",
        "{long}:22",
        "b\u00f8x:22",
        "xn--bx-lia:22");
  }

  @ParameterizedTest
  @MethodSource("refusedJumpTargets")
  void proxyJumpGoesNowhereButOwnAndSharedVms(String template) throws Exception {
    String target = fill(template);
    OpenSsh.Result r = OpenSsh.ssh(null, attacker, gw.port(), "-W", target, "localhost");
    assertThat(r.exit()).as(target + "\n" + r).isNotZero();
    assertThat(r.err()).as(target).contains("open failed");
    assertThat(r.out()).as("nothing answered for " + target).doesNotContain("SSH-");
  }

  @ParameterizedTest
  @ValueSource(strings = {"{va}:22", "{vs}:22", "{vs}.vm.example.test:22"})
  void proxyJumpReachesOwnAndSharedVms(String template) throws Exception {
    // The control for the table above: these reach the VM's sshd, whose banner comes back.
    String target = fill(template);
    OpenSsh.Result r = OpenSsh.ssh("", attacker, gw.port(), "-W", target, "localhost");
    assertThat(r.out()).as(target + "\n" + r).startsWith("SSH-2.0-");
  }

  @Test
  void aShareTheAttackerWritesThemselvesGrantsNothing() throws Exception {
    KubernetesClient asAttacker = gw.people.as("atk-" + s);
    // In the attacker's own namespace, naming the victim's VM: it names no VM of the victim's.
    Share own = share("user-atk-" + s, "steal", vb);
    asAttacker.resource(own).create();
    // In the victim's namespace: RBAC refuses.
    assertThatThrownBy(() -> asAttacker.resource(share("user-vic-" + s, "steal", vb)).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    OpenSsh.Result r = OpenSsh.ssh(null, attacker, gw.port(), "-W", vb + ":22", "localhost");
    assertThat(r.err()).contains("open failed: administratively prohibited");
    assertThat(gw.ssh(attacker, "-l", vb, "echo should-not-run").out())
        .doesNotContain("should-not-run");
  }

  private static Share share(String namespace, String name, String vmName) {
    Share share = new Share();
    share.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    share.setSpec(new Share.Spec());
    share.getSpec().vm = vmName;
    share.getSpec().email = "atk-" + s + "@attacker.example";
    return share;
  }

  // ---------------------------------------------------------------- username routing

  @ParameterizedTest
  @ValueSource(
      strings = {"{vb}", "{VB}", "{vb}.vm.example.test", "{ip}", "root", "{vb}:22", "{long}"})
  void loginNamesThatAreNotTheAttackersVmsGetTheGateway(String template) throws Exception {
    String login = fill(template);
    OpenSsh.Result r = gw.ssh(attacker, "-l", login, "echo should-not-run");
    assertThat(r.exit()).as(login + "\n" + r).isEqualTo(2);
    // Issue 19 item 4: a name that could be a VM is answered as one the attacker does not have
    // (the same words whether the victim's VM exists or not), never run as a gateway command.
    String asked = login.toLowerCase(java.util.Locale.ROOT).replace(".vm.example.test", "");
    if (login.endsWith(".vm.example.test")) {
      assertThat(r.err()).contains("you have no VM named " + asked + " (ls lists yours)");
    } else if (Names.isDnsLabel(asked)) {
      assertThat(r.err())
          .contains(
              "unknown command: echo (try: help); you have no VM named "
                  + asked
                  + " (ls lists yours)");
    } else {
      assertThat(r.err()).contains("unknown command: echo");
    }
    assertThat(r.out()).doesNotContain("should-not-run");
  }

  @Test
  void theLoginNameNeverChangesWhoYouAre() throws Exception {
    for (String login :
        List.of("vic-" + s, "root", "admin", "system:masters", "vmctl:user:vic-" + s)) {
      OpenSsh.Result r = gw.ssh(attacker, "-l", login, "whoami");
      assertThat(r.exit()).as(login + "\n" + r).isZero();
      assertThat(r.out()).contains("user:      atk-" + s).doesNotContain("vic-");
    }
  }

  static Stream<String> unregisteredTries() {
    return Stream.of(
        "ls",
        "whoami",
        "rm {vb}",
        "stop {vb}",
        "share {vb} add x@example.com",
        "login",
        "keys ls",
        "keys add {victim-key}",
        "new --name squat-x");
  }

  @ParameterizedTest
  @MethodSource("unregisteredTries")
  void anUnregisteredKeyCanOnlyRegister(String template) throws Exception {
    Path stranger =
        OpenSsh.newKey(gw.dir, "stranger-" + UUID.randomUUID().toString().substring(0, 6));
    String line = fill(template).replace("{victim-key}", OpenSsh.publicKey(victim));
    OpenSsh.Result r = gw.ssh(stranger, line);
    assertThat(r.exit()).as(line + "\n" + r).isEqualTo(1);
    assertThat(r.err()).contains("this key is not registered yet");
    OpenSsh.Result jump = OpenSsh.ssh(null, stranger, gw.port(), "-W", vb + ":22", "localhost");
    assertThat(jump.err()).contains("open failed: administratively prohibited");
    OpenSsh.Result routed = gw.ssh(stranger, "-l", vb, "echo should-not-run");
    assertThat(routed.out()).doesNotContain("should-not-run");
    assertVictimUntouched();
  }

  // ---------------------------------------------------------------- commands on others' VMs

  static Stream<String> commandsOnAnothersVm() {
    return Stream.of(
        "rm {vb}",
        "stop {vb}",
        "start {vb}",
        "restart {vb}",
        "resize {vb} --cpus 1",
        "resize {vb} --memory 512Mi",
        "share {vb} add {attacker-email}",
        "share {vb} link",
        "share {vb} public",
        "share {vb} private",
        "share {vb} ls",
        "share {vb} rm link",
        "share {vb} rm {attacker-email}",
        "rm {VB}",
        "rm {vb}.vm.example.test",
        "rm user-{victim}/{vb}");
  }

  @ParameterizedTest
  @MethodSource("commandsOnAnothersVm")
  void commandsOnAnotherTenantsVmFindNoVm(String template) throws Exception {
    String line = fill(template);
    OpenSsh.Result r = gw.ssh(attacker, line);
    assertThat(r.exit()).as(line + "\n" + r).isIn(1, 2);
    assertThat(r.err()).as(line).containsPattern("no VM named|must be|not an|needs");
    assertVictimUntouched();
  }

  static Stream<String> ownerOnlyCommands() {
    return Stream.of(
        "rm {vs}",
        "stop {vs}",
        "start {vs}",
        "restart {vs}",
        "resize {vs} --cpus 1",
        "share {vs} add friend@attacker.example",
        "share {vs} link",
        "share {vs} public",
        "share {vs} private",
        "share {vs} ls",
        "share {vs} rm {attacker-email}");
  }

  @ParameterizedTest
  @MethodSource("ownerOnlyCommands")
  void aGuestCannotChangeAVmSharedWithThem(String template) throws Exception {
    String line = fill(template);
    OpenSsh.Result r = gw.ssh(attacker, line);
    assertThat(r.exit()).as(line + "\n" + r).isEqualTo(1);
    assertThat(r.err()).contains(vs + " is shared with you; only its owner can");
    VirtualMachine shared = victimVm(vs);
    assertThat(shared).isNotNull();
    assertThat(shared.getSpec().runStrategy)
        .isNotEqualTo(dev.vmctl.api.v1alpha1.RunStrategy.Halted);
    assertThat(
            admin.resources(Share.class).inNamespace("user-vic-" + s).list().getItems().stream()
                .map(sh -> sh.getSpec().email)
                .toList())
        .containsExactly("atk-" + s + "@attacker.example");
  }

  @Test
  void listingShowsNothingOfTheVictimsButWhatIsShared() throws Exception {
    for (String flag : List.of("", "--json")) {
      OpenSsh.Result r = flag.isEmpty() ? gw.ssh(attacker, "ls") : gw.ssh(attacker, "ls", flag);
      assertThat(r.exit()).isZero();
      assertThat(r.out()).contains(va).contains(vs).doesNotContain(vb);
    }
  }

  private static void assertVictimUntouched() {
    VirtualMachine now = victimVm(vb);
    assertThat(now).as("victim's VM still exists").isNotNull();
    assertThat(now.getSpec().runStrategy).isEqualTo(vbSpec.runStrategy);
    assertThat(now.getSpec().cpus).isEqualTo(vbSpec.cpus);
    assertThat(now.getSpec().memory).isEqualTo(vbSpec.memory);
    assertThat(
            now.getMetadata().getAnnotations() == null
                ? Map.of()
                : now.getMetadata().getAnnotations())
        .doesNotContainKey("vmctl.dev/restartedAt");
    assertThat(
            admin.resources(Share.class).inNamespace("user-vic-" + s).list().getItems().stream()
                .filter(sh -> vb.equals(sh.getSpec().vm))
                .toList())
        .isEmpty();
  }

  // ---------------------------------------------------------------- accounts and keys

  @Test
  void theVictimsPublicKeyCannotBeAddedToAnotherAccount() throws Exception {
    OpenSsh.Result r = gw.ssh(attacker, "keys", "add", OpenSsh.publicKey(victim));
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).contains("this key belongs to another account");
    assertThat(gw.ssh(victim, "whoami").out()).contains("user:      vic-" + s);
  }

  @Test
  void anEmailWithAnAccountCannotBeRegisteredAgainInAnyCase() throws Exception {
    Path fresh = OpenSsh.newKey(gw.dir, "dup-" + s);
    for (String email :
        List.of(
            "VIC-" + s + "@EXAMPLE.COM",
            " vic-" + s + "@example.com",
            "vic-" + s + "@Example.com")) {
      OpenSsh.Result r = gw.ssh(fresh, "register", "'" + email + "'");
      assertThat(r.exit()).as(email + "\n" + r).isIn(1, 2);
      assertThat(gw.ssh(fresh, "whoami").err()).contains("not registered");
    }
  }

  /**
   * Registration never adopts what exists: for each kind of object planted under the name an email
   * would get, the new account gets the next free name instead, and sees none of it.
   */
  @ParameterizedTest
  @ValueSource(strings = {"namespace", "user", "vm-owner", "claimed-namespace"})
  void registrationNeverAdoptsExistingObjects(String planted) throws Exception {
    String name = "eve" + planted.replace("-", "") + "-" + s;
    switch (planted) {
      case "namespace" -> { // someone made user-<name> and put a VM in it
        admin
            .namespaces()
            .resource(
                new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                    .withNewMetadata()
                    .withName("user-" + name)
                    .endMetadata()
                    .build())
            .create();
        admin.resource(plantedVm("user-" + name, "planted-" + s + "a", null)).create();
      }
      case "user" -> { // a User of that name with someone else's email and no keys
        dev.vmctl.api.v1alpha1.User user = new dev.vmctl.api.v1alpha1.User();
        user.setMetadata(new ObjectMetaBuilder().withName(name).build());
        user.setSpec(new dev.vmctl.api.v1alpha1.User.Spec());
        user.getSpec().email = "someone-" + s + "@elsewhere.example";
        admin.resource(user).create();
      }
      case "vm-owner" -> // a VM elsewhere that names the future User as its owner
          admin.resource(plantedVm("user-vic-" + s, "planted-" + s + "b", name)).create();
      case "claimed-namespace" -> { // another User already claims the namespace user-<name>
        dev.vmctl.api.v1alpha1.User user = new dev.vmctl.api.v1alpha1.User();
        user.setMetadata(new ObjectMetaBuilder().withName("other-" + name).build());
        user.setSpec(new dev.vmctl.api.v1alpha1.User.Spec());
        user.getSpec().email = "other-" + s + "@elsewhere.example";
        user.getSpec().namespace = "user-" + name;
        admin.resource(user).create();
      }
      default -> throw new IllegalArgumentException(planted);
    }
    Path key = OpenSsh.newKey(gw.dir, "reg-" + name);
    OpenSsh.Result r = gw.ssh(key, "register", name + "@attacker.example");
    assertThat(r.exit()).as(r.toString()).isZero();
    OpenSsh.Result who = gw.ssh(key, "whoami");
    assertThat(who.out())
        .as(who.toString())
        .contains("user:      " + name + "-2")
        .contains("namespace: user-" + name + "-2");
    OpenSsh.Result ls = gw.ssh(key, "ls");
    assertThat(ls.out()).doesNotContain("planted-");
  }

  private static VirtualMachine plantedVm(String namespace, String name, String owner) {
    VirtualMachine planted = new VirtualMachine();
    planted.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    planted.setSpec(new VirtualMachineSpec());
    planted.getSpec().owner = owner;
    return planted;
  }

  // ---------------------------------------------------------------- forwarding and channels

  static Stream<List<String>> refusedForwarding() {
    return Stream.of(
        List.of("-R", "0:127.0.0.1:22"),
        List.of("-R", "127.0.0.1:0:127.0.0.1:22"),
        List.of("-R", "0"), // dynamic remote (SOCKS on the gateway)
        List.of("-R", "/tmp/vmctl-hostile.sock:127.0.0.1:22")); // streamlocal
  }

  @ParameterizedTest
  @MethodSource("refusedForwarding")
  void remoteForwardingIsRefused(List<String> forward) throws Exception {
    for (String login : List.of("localhost", va + "@localhost")) {
      List<String> args = new ArrayList<>(List.of("-o", "ExitOnForwardFailure=yes", "-N"));
      args.addAll(forward);
      args.add(login);
      OpenSsh.Result r = OpenSsh.ssh(null, attacker, gw.port(), args.toArray(String[]::new));
      assertThat(r.exit()).as(forward + " " + login + "\n" + r).isNotZero();
      assertThat(r.err()).contains("forwarding failed");
    }
    assertThat(java.nio.file.Files.exists(Path.of("/tmp/vmctl-hostile.sock"))).isFalse();
  }

  @Test
  void noAgentX11OrEnvironmentReachesTheVm() throws Exception {
    Path agentSocket = gw.dir.resolve("agent.sock");
    Process agent = new ProcessBuilder("ssh-agent", "-D", "-a", agentSocket.toString()).start();
    try {
      org.awaitility.Awaitility.await().until(() -> java.nio.file.Files.exists(agentSocket));
      List<String> argv = new ArrayList<>(List.of("ssh"));
      argv.addAll(OpenSsh.options(attacker));
      argv.addAll(
          List.of(
              "-p",
              String.valueOf(gw.port()),
              "-o",
              "ForwardAgent=" + agentSocket,
              "-o",
              "ForwardX11=yes",
              "-o",
              "ForwardX11Trusted=yes",
              "-o",
              "SetEnv=LD_PRELOAD=/tmp/evil.so",
              "-o",
              "SetEnv=VMCTL_INJECTED=yes",
              "-o",
              "SendEnv=LC_*",
              "-l",
              va,
              "localhost",
              "echo agent=${SSH_AUTH_SOCK:-none} display=${DISPLAY:-none}"
                  + " preload=${LD_PRELOAD:-none} injected=${VMCTL_INJECTED:-none}"
                  + " lc=${LC_VMCTL:-none}"));
      try (Background b =
          Background.start(Map.of("DISPLAY", ":42", "LC_VMCTL", "injected"), argv)) {
        assertThat(b.endsWithin(java.time.Duration.ofSeconds(60))).isTrue();
        assertThat(b.exitValue()).as(b.toString()).isZero();
        assertThat(b.out())
            .as(b.toString())
            .contains("agent=none display=none preload=none injected=none lc=none");
        assertThat(b.err()).contains("X11 forwarding request failed");
      }
      // And the gateway's own session takes the same options without harm.
      OpenSsh.Result own =
          OpenSsh.ssh(
              null,
              attacker,
              gw.port(),
              "-o",
              "ForwardAgent=" + agentSocket,
              "-o",
              "SetEnv=LD_PRELOAD=/tmp/evil.so",
              "localhost",
              "whoami");
      assertThat(own.exit()).as(own.toString()).isZero();
    } finally {
      agent.destroy();
      agent.waitFor();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"localhost", "{vb}@localhost", "{va}@localhost"})
  void unknownSubsystemsAreRefused(String template) throws Exception {
    String login = fill(template);
    OpenSsh.Result r = OpenSsh.ssh(null, attacker, gw.port(), "-s", login, "evil-subsystem");
    assertThat(r.exit()).as(r.toString()).isNotZero();
    assertThat(r.err()).contains("subsystem request failed");
    // sftp to the gateway itself (not a VM) fails cleanly, the gateway stays up.
    OpenSsh.Result sftp = OpenSsh.ssh("", attacker, gw.port(), "-s", login, "sftp");
    assertThat(sftp.out()).doesNotContain("should-not-run");
    assertThat(gw.ssh(attacker, "whoami").exit()).isZero();
  }

  /**
   * What OpenSSH will not send, from MINA's client: more channels on one connection than the cap
   * (each would be a thread on the gateway), and tunnel targets OpenSSH refuses to form. The
   * connection keeps working afterwards.
   */
  @Test
  void channelsPerConnectionAreCappedAndOddTunnelTargetsRefused() throws Exception {
    java.security.KeyPair key =
        org.apache.sshd.common.config.keys.KeyUtils.generateKeyPair(
            org.apache.sshd.common.keyprovider.KeyPairProvider.ECDSA_SHA2_NISTP256, 256);
    String line =
        org.apache.sshd.common.config.keys.PublicKeyEntry.toString(key.getPublic()) + " mina";
    assertThat(gw.ssh(attacker, "keys", "add", "'" + line + "'").exit()).isZero();
    java.time.Duration t = java.time.Duration.ofSeconds(20);
    try (org.apache.sshd.client.SshClient client =
        org.apache.sshd.client.SshClient.setUpDefaultClient()) {
      client.setServerKeyVerifier(
          org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier.INSTANCE);
      client.start();
      org.awaitility.Awaitility.await()
          .atMost(t)
          .until(() -> gw.directory.userByFingerprint(fingerprint(key)).isPresent());
      try (org.apache.sshd.client.session.ClientSession session =
          client.connect("atk", "127.0.0.1", gw.port()).verify(t).getSession()) {
        session.addPublicKeyIdentity(key);
        session.auth().verify(t);
        List<org.apache.sshd.client.channel.ClientChannel> shells = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          org.apache.sshd.client.channel.ClientChannel shell = session.createShellChannel();
          shell.open().verify(t);
          shells.add(shell);
        }
        org.apache.sshd.client.channel.ClientChannel eleventh = session.createShellChannel();
        assertThatThrownBy(() -> eleventh.open().verify(t)).isInstanceOf(Exception.class);
        for (org.apache.sshd.client.channel.ClientChannel shell : shells) {
          shell.close(false).await(t);
        }
        for (String host : List.of("h".repeat(20_000), vb + "\u0000", "", " ", "..", "-")) {
          org.apache.sshd.client.channel.ChannelDirectTcpip tunnel =
              session.createDirectTcpipChannel(
                  new org.apache.sshd.common.util.net.SshdSocketAddress("127.0.0.1", 1),
                  new org.apache.sshd.common.util.net.SshdSocketAddress(host, 22));
          assertThatThrownBy(() -> tunnel.open().verify(t)).isInstanceOf(Exception.class);
        }
        assertThat(session.isOpen()).isTrue();
        org.awaitility.Awaitility.await() // the closed shells' slots come back as they close
            .atMost(t)
            .ignoreExceptions()
            .untilAsserted(
                () -> assertThat(session.executeRemoteCommand("whoami")).contains("atk-" + s));
      }
    }
  }

  private static String fingerprint(java.security.KeyPair key) {
    org.apache.sshd.common.util.buffer.ByteArrayBuffer blob =
        new org.apache.sshd.common.util.buffer.ByteArrayBuffer();
    blob.putRawPublicKey(key.getPublic());
    return dev.vmctl.gateway.SshKeys.fingerprintOfBlob(blob.getCompactData());
  }

  // ---------------------------------------------------------------- bad input

  static Stream<String> badInput() {
    return Stream.of(
        "new --name " + "a".repeat(64),
        "new --name " + "a".repeat(3000),
        "rm " + "x".repeat(5000),
        "rm 'vb;id'",
        "rm '$(id)'",
        "rm '`id`'",
        "rm '../../etc/passwd'",
        "rm '{vb}&&reboot'",
        "rm '*'",
        "rm -- -rf",
        "new --name 'a b'",
        "new --name UPPER",
        "new --name -dash-",
        "rm b\u00f8x",
        "rm b\u03bfx", // Greek omicron: looks like box
        "rm 'box\u202e'", // right-to-left override
        "rm \ud83d\udca5",
        "new --cpus -1",
        "new --cpus 0",
        "new --cpus 99999999999999999999",
        "new --cpus 1.5",
        "new --cpus 0x10",
        "new --memory -5Gi",
        "new --memory 1Zi",
        "new --memory 1e9",
        "new --disk -1Gi",
        "new --name= --cpus 1",
        "new --image '../../etc'",
        "new --image 'http://evil.example/x.img'",
        "resize {va} --cpus -3",
        "resize {va} --memory -1Mi",
        "resize {va}",
        "share {va} add 'a@b.c; rm -rf /'",
        "share {va} add {long}@example.com",
        "share {va} add a@b",
        "share {va} frob",
        "share {va}",
        "share",
        "keys add 'ssh-ed25519 AAAA$(id)'",
        "keys add " + "A".repeat(4000),
        "keys rm '$(id)'",
        "keys frob",
        "register x@example.com",
        "ls --frob",
        "whoami extra",
        "login extra",
        "'unterminated",
        "\"also unterminated");
  }

  @ParameterizedTest
  @MethodSource("badInput")
  void badInputGetsAClearErrorAndTheGatewayStaysUp(String template) throws Exception {
    String line = fill(template);
    OpenSsh.Result r = gw.ssh(attacker, line);
    String shown = line.length() > 80 ? line.substring(0, 80) + "..." : line;
    assertThat(r.exit()).as(shown + "\n" + r).isIn(1, 2);
    assertThat(r.err().strip()).as(shown).isNotEmpty();
    assertThat(r.err()).as(shown).doesNotContain("internal error", "Exception", "at dev.vmctl");
    assertThat(r.out()).as(shown).doesNotContain("uid=");
    assertThat(gw.ssh(attacker, "whoami").exit()).isZero();
  }

  @Test
  void controlBytesAndHugeLinesInTheShellAreRefusedAndItGoesOn() throws Exception {
    String input =
        "\u0000\u001b[31mred\u001b]0;title\u0007\n"
            + "y".repeat(10_000)
            + "\n"
            + "rm \u0008\u0008{vb}\n".replace("{vb}", vb)
            + "whoami\nexit\n";
    OpenSsh.Result r = gw.sshWithInput(input, attacker, "-tt", "localhost");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).contains("user:      atk-" + s);
    assertVictimUntouched();
  }

  // ---------------------------------------------------------------- unauthenticated

  @ParameterizedTest
  @ValueSource(strings = {"password", "keyboard-interactive", "none", "hostbased"})
  void onlyPublicKeysAuthenticate(String method) throws Exception {
    OpenSsh.Result r =
        OpenSsh.run(
            null,
            30,
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "PreferredAuthentications=" + method,
            "-p",
            String.valueOf(gw.port()),
            vb + "@localhost",
            "echo should-not-run");
    assertThat(r.exit()).as(r.toString()).isEqualTo(255);
    assertThat(r.err()).contains("Permission denied (publickey)");
    assertThat(r.out()).isEmpty();
  }
}
