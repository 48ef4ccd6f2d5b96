package dev.vmctl.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Boots the real base image under QEMU (microvm, software emulation here), with vhost-device-vsock
 * for the agent channel and a TAP device on a bridge in a network namespace this test creates, and
 * drives the guest through the agent and a real OpenSSH client. Needs root, QEMU and the artifacts
 * hack/test.sh prepares (VMCTL_GUEST_IMAGE, VMCTL_GUEST_KERNEL_DIR, VMCTL_VHOST_VSOCK); without
 * them it fails saying what is missing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Tag("guest")
class GuestBootGuestTest {
  static final String GUEST_IP = "10.123.0.2";
  static final String HOST_IP = "10.123.0.1";
  static final String MAC = "52:54:00:12:34:56";

  Path dir;
  String netns;
  Process vsockDevice;
  Process qemu;
  AgentClient agent;
  Path key;
  Instant started;
  Duration bootToAgent;
  String kernelVersion;

  static String required(String name) {
    return Shell.requiredPath(name);
  }

  static String run(String... argv) throws IOException {
    return Shell.run(Duration.ofSeconds(60), argv);
  }

  @BeforeAll
  void boot() throws Exception {
    Path image = Path.of(required("VMCTL_GUEST_IMAGE"));
    Path kernel = Path.of(required("VMCTL_GUEST_KERNEL_DIR"));
    String vhost = required("VMCTL_VHOST_VSOCK");
    kernelVersion = Files.readString(kernel.resolve("version")).trim();
    dir = Files.createTempDirectory("vmctl-guest-test-");
    netns = "vmctl-t-" + UUID.randomUUID().toString().substring(0, 8);
    run("ip", "netns", "add", netns);
    run("ip", "-n", netns, "link", "set", "lo", "up");
    run("ip", "-n", netns, "link", "add", "br0", "type", "bridge");
    run("ip", "-n", netns, "addr", "add", HOST_IP + "/24", "dev", "br0");
    run("ip", "-n", netns, "link", "set", "br0", "up");
    run("ip", "-n", netns, "tuntap", "add", "dev", "tap0", "mode", "tap");
    run("ip", "-n", netns, "link", "set", "tap0", "master", "br0", "up");

    Path overlay = dir.resolve("root.qcow2");
    run(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        image.toString(),
        "-F",
        "raw",
        overlay.toString());
    Path vhostSocket = dir.resolve("vhost.sock");
    Path vsock = dir.resolve("vsock.sock");
    vsockDevice =
        new ProcessBuilder(
                vhost, "--vm", "guest-cid=3,socket=" + vhostSocket + ",uds-path=" + vsock)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("vhost-device-vsock.log").toFile())
            .start();
    for (int i = 0; i < 100 && !Files.exists(vhostSocket); i++) {
      Thread.sleep(50);
    }
    key = dir.resolve("id_ed25519");
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString());

    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns, "qemu-system-x86_64"));
    cmd.addAll(
        List.of(
            "-M",
            "microvm,rtc=on,memory-backend=mem",
            "-cpu",
            "max",
            "-smp",
            "2",
            "-m",
            "1G",
            "-object",
            "memory-backend-memfd,id=mem,size=1G,share=on",
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-no-reboot",
            "-serial",
            "file:" + dir.resolve("console.log"),
            "-kernel",
            kernel.resolve("vmlinux").toString(),
            "-initrd",
            kernel.resolve("initramfs.cpio.gz").toString(),
            "-append",
            "console=ttyS0 root=/dev/vda rw tsc_early_khz=2600000 panic=-1 quiet",
            "-drive",
            "id=root,file=" + overlay + ",format=qcow2,if=none",
            "-device",
            "virtio-blk-device,drive=root",
            "-netdev",
            "tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=off",
            "-device",
            "virtio-net-device,netdev=net0,mac=" + MAC,
            "-chardev",
            "socket,id=vsock,path=" + vhostSocket,
            "-device",
            "vhost-user-vsock-device,chardev=vsock",
            "-device",
            "virtio-rng-device"));
    started = Instant.now();
    qemu =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("qemu.log").toFile())
            .start();
    try {
      agent =
          AgentClient.connectWithRetry(
              vsock, AgentClient.AGENT_PORT, Instant.now().plusSeconds(240));
    } catch (IOException e) {
      throw new IOException(
          e.getMessage()
              + "\nconsole:\n"
              + tail(dir.resolve("console.log"))
              + "\nqemu:\n"
              + tail(dir.resolve("qemu.log")),
          e);
    }
    bootToAgent = Duration.between(started, Instant.now());
    System.out.printf("guest boot: QEMU start to agent hello %d ms%n", bootToAgent.toMillis());
  }

  static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no " + file.getFileName() + ")";
    }
  }

  @AfterAll
  void tearDown() throws Exception {
    if (agent != null) {
      agent.close();
    }
    for (Process p : new Process[] {qemu, vsockDevice}) {
      if (p != null && p.isAlive()) {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
    if (netns != null) {
      run("ip", "netns", "delete", netns);
    }
    if (dir != null) {
      run("rm", "-rf", dir.toString());
    }
  }

  @Test
  @Order(1)
  void agentAnswersHelloFromTheBootedKernel() throws IOException {
    AgentClient.Hello hello = agent.hello(Duration.ofSeconds(10));
    assertThat(hello.kernel()).isEqualTo(kernelVersion);
    assertThat(hello.os()).contains("Debian GNU/Linux 12");
    assertThat(hello.bootId()).hasSize(36);
  }

  @Test
  @Order(2)
  void networkHostnameKeysThenARealSshLogin() throws Exception {
    // The agent starts before udev's coldplug has loaded virtio-net: under load the interface can
    // still be missing when the agent first answers (NotFound), as the node daemon's next pass
    // would, ask again.
    Instant configured = Instant.now().plusSeconds(120);
    while (true) {
      try {
        agent.configureNetwork(GUEST_IP + "/24", HOST_IP, List.of(HOST_IP), 1500, MAC);
        break;
      } catch (AgentClient.AgentError e) {
        if (!e.code().equals("NotFound") || Instant.now().isAfter(configured)) {
          throw e;
        }
      }
    }
    agent.setHostname("guest-test");
    agent.setAuthorizedKeys(
        "vmctl", List.of(Files.readString(dir.resolve("id_ed25519.pub")).trim()));
    Instant deadline = Instant.now().plusSeconds(120);
    while (!agent.ports().contains(22) && Instant.now().isBefore(deadline)) {
      Thread.sleep(500);
    }
    assertThat(agent.ports()).as("sshd listening").contains(22);
    System.out.printf(
        "guest boot: QEMU start to sshd listening %d ms%n",
        Duration.between(started, Instant.now()).toMillis());
    String out =
        run(
            "ip",
            "netns",
            "exec",
            netns,
            "ssh",
            "-i",
            key.toString(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "vmctl@" + GUEST_IP,
            "echo hello from $(hostname) as $(id -un); sudo -n id -u");
    assertThat(out).isEqualTo("hello from guest-test as vmctl\n0\n");
  }

  @Test
  @Order(3)
  void execStatsAndPorts() throws IOException {
    AgentClient.ExecResult r =
        agent.exec(
            List.of("sh", "-c", "uname -r; echo bad >&2; exit 7"),
            Map.of(),
            null,
            Duration.ofSeconds(30));
    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stdout().trim()).isEqualTo(kernelVersion);
    assertThat(r.stderr()).isEqualTo("bad\n");
    Map<String, Object> stats = agent.stats();
    assertThat(((Number) stats.get("memoryTotalBytes")).longValue()).isGreaterThan(500L << 20);
    AgentClient.ExecResult rss =
        agent.exec(
            List.of("sh", "-c", "grep VmRSS /proc/$(pgrep -f vmctl-guest-agent | head -1)/status"),
            Map.of(),
            null,
            Duration.ofSeconds(30));
    System.out.printf("guest agent %s", rss.stdout());
  }

  @Test
  @Order(4)
  void shutdownPowersTheGuestOff() throws Exception {
    agent.shutdown();
    assertThat(qemu.waitFor(120, TimeUnit.SECONDS))
        .as("QEMU exits after the guest powers off")
        .isTrue();
  }
}
