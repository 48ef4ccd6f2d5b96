package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Both ways into a VM with the real OpenSSH client: ProxyJump (through the documented ssh_config)
 * and username routing (exec, PTY shell, scp, sftp), against a real sshd in a network namespace
 * standing in for the VM. Another person's VM is unreachable; a stopped VM says so.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("host")
@Tag("kube")
class SshProxyKubeTest {
  private static GatewayHarness gw;
  private static NetnsSshd vm;
  private static String suffix;
  private static String vmName;
  private static Path owner;
  private static Path friend;
  private static Path stranger;

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    gw = new GatewayHarness(env, Map.of());
    suffix = UUID.randomUUID().toString().substring(0, 6);
    vmName = "box-" + suffix;
    owner = gw.register("pown-" + suffix, "pown-" + suffix + "@example.com");
    friend = gw.register("pfri-" + suffix, "pfri-" + suffix + "@example.com");
    stranger = gw.register("pstr-" + suffix, "pstr-" + suffix + "@example.com");
    // As the node daemon would: owner, shared users and the gateway's proxy key. The stranger's
    // key is installed too, so a refusal can only come from the gateway.
    vm =
        new NetnsSshd(
            gw.dir,
            List.of(
                OpenSsh.publicKey(owner),
                OpenSsh.publicKey(friend),
                OpenSsh.publicKey(stranger),
                ProxyKeyPublisher.authorizedKeysLine(gw.proxyKey)));
    gw.vmAt(vmName, vm);
    OpenSsh.Result created = gw.ssh(owner, "new", "--name", vmName);
    assertThat(created.exit()).as(created.toString()).isZero();
    assertThat(gw.ssh(owner, "share", vmName, "add", "pfri-" + suffix + "@example.com").exit())
        .isZero();
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

  static OpenSsh.Result jump(Path key, String... command) throws Exception {
    List<String> argv =
        new java.util.ArrayList<>(
            List.of("ssh", "-F", gw.jumpConfig(key).toString(), vmName + ".vm.example.test"));
    argv.addAll(List.of(command));
    return OpenSsh.run(null, 60, argv.toArray(String[]::new));
  }

  @Test
  void proxyJumpRunsCommandsInTheVmWithExitStatus() throws Exception {
    OpenSsh.Result r =
        jump(owner, "echo hello from $(ip -o -4 addr show scope global | wc -l); exit 7");
    assertThat(r.exit()).as(r.toString()).isEqualTo(7);
    assertThat(r.out()).contains("hello from 1");
    OpenSsh.Result shared = jump(friend, "echo shared-ok");
    assertThat(shared.exit()).as(shared.toString()).isZero();
    assertThat(shared.out()).contains("shared-ok");
  }

  @Test
  void proxyJumpScpCopiesBothWays() throws Exception {
    Path source = Files.createTempFile(gw.dir, "up", ".bin");
    byte[] data = new byte[300_000];
    new SecureRandom().nextBytes(data);
    Files.write(source, data);
    Path remote = gw.dir.resolve("jump-remote-" + suffix + ".bin");
    OpenSsh.Result up =
        OpenSsh.run(
            null,
            60,
            "scp",
            "-F",
            gw.jumpConfig(owner).toString(),
            source.toString(),
            vmName + ".vm.example.test:" + remote);
    assertThat(up.exit()).as(up.toString()).isZero();
    assertThat(Files.readAllBytes(remote)).isEqualTo(data); // same disk: sshd runs on this host
    Path back = gw.dir.resolve("jump-back.bin");
    OpenSsh.Result down =
        OpenSsh.run(
            null,
            60,
            "scp",
            "-F",
            gw.jumpConfig(owner).toString(),
            vmName + ".vm.example.test:" + remote,
            back.toString());
    assertThat(down.exit()).as(down.toString()).isZero();
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
  }

  @Test
  void usernameRoutingExecPassesOutputAndExitStatus() throws Exception {
    OpenSsh.Result r = gw.ssh(owner, "-l", vmName, "echo routed; echo oops >&2; exit 3");
    assertThat(r.exit()).as(r.toString()).isEqualTo(3);
    assertThat(r.out()).isEqualTo("routed\n");
    assertThat(r.err()).contains("oops");
    OpenSsh.Result stdin =
        gw.sshWithInput("piped input\n", owner, "-l", vmName, "localhost", "cat");
    assertThat(stdin.out()).isEqualTo("piped input\n");
  }

  /**
   * Username routing logs in to a VM once and opens a channel per session on that connection
   * (VmSessions): the owner's and a shared user's commands, one after another, make one login at
   * the VM's sshd, and each still gets its own output and exit status.
   */
  @Test
  void usernameRoutingSessionsShareOneLoggedInConnectionToTheVm() throws Exception {
    String proxyKey = ProxyKeyPublisher.authorizedKeysLine(gw.proxyKey).split("\\s+")[1];
    assertThat(gw.ssh(owner, "-l", vmName, "true").exit()).isZero(); // connected, maybe earlier
    long before = proxyLogins();
    for (int i = 0; i < 3; i++) {
      OpenSsh.Result r =
          gw.ssh(i % 2 == 0 ? owner : friend, "-l", vmName, "echo run-" + i + "; exit " + i);
      assertThat(r.exit()).as(r.toString()).isEqualTo(i);
      assertThat(r.out()).isEqualTo("run-" + i + "\n");
    }
    assertThat(proxyLogins())
        .as("logins by the gateway's proxy key, " + proxyKey)
        .isEqualTo(before);
  }

  /**
   * More routed sessions at once than OpenSSH's sshd takes channels on one connection (10): the
   * gateway opens another connection beyond 8 instead of having the VM refuse the channel. Two
   * people, six each: one person may hold 10 connections to the gateway.
   */
  @Test
  void moreConcurrentRoutedSessionsThanOneConnectionTakesAllRun() throws Exception {
    var pool = java.util.concurrent.Executors.newFixedThreadPool(12);
    try {
      List<java.util.concurrent.Future<OpenSsh.Result>> runs = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) {
        int n = i;
        Path who = n % 2 == 0 ? owner : friend;
        runs.add(pool.submit(() -> gw.ssh(who, "-l", vmName, "sleep 2; echo parallel-" + n)));
      }
      for (int i = 0; i < runs.size(); i++) {
        OpenSsh.Result r = runs.get(i).get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("parallel-" + i + "\n");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Logins at the VM's sshd with the gateway's proxy key (its log says which key signed in). */
  private static long proxyLogins() throws Exception {
    String fingerprint =
        OpenSsh.run(
                null,
                20,
                "sh",
                "-c",
                "echo '"
                    + ProxyKeyPublisher.authorizedKeysLine(gw.proxyKey)
                    + "' | ssh-keygen -lf -")
            .out()
            .split("\\s+")[1];
    return Files.readAllLines(vm.dir.resolve("sshd.log")).stream()
        .filter(l -> l.contains("Accepted publickey") && l.contains(fingerprint))
        .count();
  }

  @Test
  void usernameRoutingShellHasPtyAndWindowSize() throws Exception {
    OpenSsh.Result r =
        gw.sshWithInput(
            "tty; stty size; echo $((6*7))\nexit 5\n", owner, "-tt", "-l", vmName, "localhost");
    assertThat(r.exit()).as(r.toString()).isEqualTo(5);
    assertThat(r.out()).contains("/dev/pts/").contains("42");
  }

  @Test
  void usernameRoutingScpAndSftp() throws Exception {
    Path source = Files.createTempFile(gw.dir, "route", ".bin");
    byte[] data = new byte[200_000];
    new SecureRandom().nextBytes(data);
    Files.write(source, data);
    String port = String.valueOf(gw.port());
    List<String> opts = OpenSsh.options(owner);
    // scp's default (sftp protocol) and the legacy scp protocol (-O, an exec of "scp -t").
    for (String mode : List.of("-s", "-O")) {
      Path remote = gw.dir.resolve("route-remote" + mode + ".bin");
      List<String> argv = new java.util.ArrayList<>(List.of("scp", mode, "-P", port));
      argv.addAll(opts);
      argv.addAll(List.of(source.toString(), vmName + "@localhost:" + remote));
      OpenSsh.Result up = OpenSsh.run(null, 60, argv.toArray(String[]::new));
      assertThat(up.exit()).as(mode + " " + up).isZero();
      assertThat(Files.readAllBytes(remote)).isEqualTo(data);
    }
    Path batch = Files.createTempFile(gw.dir, "batch", "");
    Path fetched = gw.dir.resolve("sftp-fetched.bin");
    Files.writeString(batch, "get " + gw.dir.resolve("route-remote-s.bin") + " " + fetched + "\n");
    List<String> argv =
        new java.util.ArrayList<>(List.of("sftp", "-P", port, "-b", batch.toString()));
    argv.addAll(opts);
    argv.add(vmName + "@localhost");
    OpenSsh.Result sftp = OpenSsh.run(null, 60, argv.toArray(String[]::new));
    assertThat(sftp.exit()).as(sftp.toString()).isZero();
    assertThat(Files.readAllBytes(fetched)).isEqualTo(data);
  }

  @Test
  void anotherPersonsVmIsUnreachableBothWays() throws Exception {
    OpenSsh.Result jump = jump(stranger, "echo should-not-run");
    assertThat(jump.exit()).isNotZero();
    assertThat(jump.out()).doesNotContain("should-not-run");
    assertThat(jump.err()).contains("open failed: administratively prohibited");
    // Exactly what a VM that does not exist gives: nothing about the VM leaks.
    OpenSsh.Result missing =
        OpenSsh.ssh(null, stranger, gw.port(), "-W", "nope-" + suffix + ":22", "localhost");
    OpenSsh.Result hidden =
        OpenSsh.ssh(null, stranger, gw.port(), "-W", vmName + ":22", "localhost");
    assertThat(hidden.err().replaceAll("\\[localhost\\]:[0-9]+", ""))
        .isEqualTo(missing.err().replaceAll("\\[localhost\\]:[0-9]+", ""));
    // As a login name it is no VM for the stranger: they get the gateway, as for any unknown name.
    OpenSsh.Result routed = gw.ssh(stranger, "-l", vmName, "echo should-not-run");
    assertThat(routed.exit()).isEqualTo(2);
    assertThat(routed.out()).doesNotContain("should-not-run");
    assertThat(routed.err()).contains("you have no VM named " + vmName);
    OpenSsh.Result routedMissing = gw.ssh(stranger, "-l", "nope-" + suffix, "echo should-not-run");
    assertThat(routed.err().replace(vmName, "X"))
        .isEqualTo(routedMissing.err().replace("nope-" + suffix, "X"));
    // ProxyJump to anything but a VM's SSH port is refused: no open relay.
    OpenSsh.Result relay =
        OpenSsh.ssh(null, owner, gw.port(), "-W", vm.address + ":22", "localhost");
    assertThat(relay.exit()).isNotZero();
    OpenSsh.Result port = OpenSsh.ssh(null, owner, gw.port(), "-W", vmName + ":80", "localhost");
    assertThat(port.exit()).isNotZero();
    assertThat(port.err()).contains("open failed: administratively prohibited");
  }

  @Test
  void stoppedVmGivesAClearMessage() throws Exception {
    String other = "halt-" + suffix;
    gw.vmAt(other, vm);
    assertThat(gw.ssh(owner, "new", "--name", other).exit()).isZero();
    assertThat(gw.ssh(owner, "stop", other).exit()).isZero();
    await()
        .untilAsserted(
            () -> assertThat(gw.ssh(owner, "ls").out()).containsPattern(other + "\\s+Stopped"));
    OpenSsh.Result routed = gw.ssh(owner, "-l", other, "true");
    assertThat(routed.exit()).isEqualTo(1);
    assertThat(routed.err()).contains("VM " + other + " is Stopped, not Running");
    OpenSsh.Result jumped = OpenSsh.ssh(null, owner, gw.port(), "-W", other + ":22", "localhost");
    assertThat(jumped.exit()).isNotZero();
    assertThat(jumped.err()).contains("open failed: connect failed");
  }

  @Test
  void usernameRoutingRefusesAVmWhoseHostKeyIsNotTheOneInItsStatus() throws Exception {
    // The sshd at the VM's address is real and lets the gateway in; its key is not the published
    // one.
    String impostor = "imp-" + suffix;
    gw.addresses.put(impostor, vm.address);
    Path other = OpenSsh.newKey(gw.dir, "other-host-key-" + suffix);
    gw.hostKeys.put(impostor, List.of(OpenSsh.publicKey(other).replaceFirst(" [^ ]+$", "")));
    assertThat(gw.ssh(owner, "new", "--name", impostor).exit()).isZero();
    await()
        .untilAsserted(
            () -> assertThat(gw.ssh(owner, "known-hosts", impostor).out()).contains("ssh-ed25519"));
    String presented = fingerprint(vm.hostKey());
    OpenSsh.Result routed = gw.ssh(owner, "-l", impostor, "echo should-not-run");
    assertThat(routed.exit()).as(routed.toString()).isEqualTo(1);
    assertThat(routed.out()).doesNotContain("should-not-run");
    assertThat(routed.err())
        .contains(
            "refusing to connect to VM "
                + impostor
                + ": it presented SSH host key "
                + presented
                + ", not the one in its status");
    // The VM whose published key is the one its sshd presents is still reached.
    assertThat(gw.ssh(owner, "-l", vmName, "echo fine").out()).isEqualTo("fine\n");
  }

  @Test
  void usernameRoutingRefusesAVmThatPublishedNoHostKey() throws Exception {
    String unkeyed = "nokey-" + suffix;
    gw.addresses.put(unkeyed, vm.address);
    assertThat(gw.ssh(owner, "new", "--name", unkeyed).exit()).isZero();
    OpenSsh.Result routed = gw.ssh(owner, "-l", unkeyed, "echo should-not-run");
    assertThat(routed.exit()).isEqualTo(1);
    assertThat(routed.err()).contains("VM " + unkeyed + " has published no SSH host key yet");
  }

  @Test
  void knownHostsLinesPinTheVmsKeyForProxyJump() throws Exception {
    OpenSsh.Result lines = gw.ssh(owner, "known-hosts", vmName);
    assertThat(lines.exit()).as(lines.toString()).isZero();
    assertThat(lines.out())
        .isEqualTo(vmName + "," + vmName + ".vm.example.test " + vm.hostKey() + "\n");
    OpenSsh.Result json = gw.ssh(owner, "known-hosts", "--json");
    assertThat(json.out()).contains("\"name\" : \"" + vmName + "\"").contains(vm.hostKey());
    assertThat(gw.ssh(friend, "known-hosts", vmName).out()).contains(vm.hostKey()); // shared
    assertThat(gw.ssh(stranger, "known-hosts", vmName).err()).contains("no VM named " + vmName);
    // OpenSSH with only these lines, checking strictly, reaches the VM by ProxyJump.
    Path knownHosts = gw.dir.resolve("known_hosts-" + suffix);
    Files.writeString(knownHosts, lines.out());
    Path config = Files.createTempFile(gw.dir, "pinned", "");
    Files.writeString(
        config,
        String.join(
            "\n",
            "Host vmctl-gw",
            "  HostName localhost",
            "  Port " + gw.port(),
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "Host *.vm.example.test",
            "  ProxyJump vmctl-gw",
            "  User root",
            "  StrictHostKeyChecking yes",
            "  UserKnownHostsFile " + knownHosts,
            "Host *",
            "  IdentityFile " + owner,
            "  IdentitiesOnly yes",
            "  IdentityAgent none",
            "  GlobalKnownHostsFile /dev/null",
            "  BatchMode yes",
            ""));
    OpenSsh.Result pinned =
        OpenSsh.run(null, 60, "ssh", "-F", config.toString(), vmName + ".vm.example.test", "true");
    assertThat(pinned.exit()).as(pinned.toString()).isZero();
    // And refuses a VM whose key is not the pinned one.
    Files.writeString(
        knownHosts,
        vmName
            + ".vm.example.test "
            + OpenSsh.publicKey(OpenSsh.newKey(gw.dir, "pin-" + suffix))
            + "\n");
    OpenSsh.Result mismatch =
        OpenSsh.run(null, 60, "ssh", "-F", config.toString(), vmName + ".vm.example.test", "true");
    assertThat(mismatch.exit()).isNotZero();
    assertThat(mismatch.err()).contains("HOST IDENTIFICATION HAS CHANGED");
  }

  private static String fingerprint(String publicKeyLine) {
    return dev.vmctl.gateway.SshKeys.fingerprint(publicKeyLine).orElseThrow();
  }
}
