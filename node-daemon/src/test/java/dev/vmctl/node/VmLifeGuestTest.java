package dev.vmctl.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.node.model.Subnet;
import dev.vmctl.node.model.VmPlanner;
import dev.vmctl.node.net.NamespaceWeb;
import dev.vmctl.operator.OperatorConfig;
import dev.vmctl.operator.VmctlOperator;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import dev.vmctl.testkit.Shell;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A whole VM life with real parts: real kube-apiserver, the real operator scheduling, the node
 * daemon with QEMU (software emulation), btrfs reflink volumes on a loop device, a bridge and TAP
 * in a network namespace this test creates, and the real base image with its agent. create ->
 * Running (agent configured, SSH works) -> hypervisor killed -> brought back -> restart by
 * annotation -> delete, then nothing is left on the host.
 */
@ExtendWith(KubeApiServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("guest")
@Tag("kube")
class VmLifeGuestTest {
  static final Duration BOOT = Duration.ofMinutes(Long.getLong("vmctl.bootMinutes", 5));
  Path dir;
  Path pool;
  String netns;
  String host;
  VmctlOperator operator;
  NodeDaemon daemon;
  NodeConfig config;
  dev.vmctl.testkit.KubeApiServer server;
  KubernetesClient client;
  String ns;
  Path key;

  static String required(String name) {
    return Shell.requiredPath(name);
  }

  static String run(String... argv) throws IOException {
    return Shell.run(Duration.ofSeconds(120), argv);
  }

  static boolean succeeds(String... argv) throws IOException {
    return Shell.succeeds(Duration.ofSeconds(60), argv);
  }

  @BeforeAll
  void start(KubeEnv env) throws Exception {
    client = env.client();
    ns = env.namespace();
    String image = required("VMCTL_GUEST_IMAGE");
    String kernel = required("VMCTL_GUEST_KERNEL_DIR");
    String vhost = required("VMCTL_VHOST_VSOCK");
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    dir = Files.createTempDirectory("vmctl-life-");
    pool = dir.resolve("pool");
    Files.createDirectories(pool);
    // Sparse: the scheduler reserves each VM's root (10Gi default) + data volume (issue 15).
    run("truncate", "-s", "64G", dir.resolve("pool.img").toString());
    run("mkfs.btrfs", "-q", dir.resolve("pool.img").toString());
    run("mount", "-o", "loop", dir.resolve("pool.img").toString(), pool.toString());
    Files.createDirectories(pool.resolve("images"));
    run("cp", "--sparse=always", image, pool.resolve("images/debian-12.raw").toString());
    netns = "vmctl-life-" + suffix;
    run("ip", "netns", "add", netns);
    run("ip", "-n", netns, "link", "set", "lo", "up");
    key = dir.resolve("id_ed25519");
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString());

    operator =
        VmctlOperator.start(
            env.server().adminClient(),
            OperatorConfig.fromEnvironment(
                Map.of(
                    "VMCTL_LEASE_NAMESPACE",
                    ns,
                    "VMCTL_HEARTBEAT_GRACE",
                    "60s",
                    "VMCTL_HTTP_PORT",
                    "0")),
            "op-life");
    host = "node-" + suffix;
    NodeConfig config =
        new NodeConfig(
            host,
            pool,
            pool,
            "btrfs",
            "qemu",
            Subnet.parse("10.124.0.0/24"),
            "vmbr0",
            netns,
            Path.of(kernel),
            "qemu-system-x86_64",
            vhost,
            false,
            0,
            "256Mi",
            Duration.ofSeconds(2),
            0,
            "vmctl",
            "vmctl",
            "pool",
            "cloud-hypervisor",
            env.namespace(),
            java.time.Duration.ofSeconds(5),
            "",
            Path.of("/sys/fs/cgroup"),
            "vmctl-life-" + suffix, // the VMs' cgroups, under a parent of this test's own
            NodeConfig.DEFAULT_VM_MEMORY_OVERHEAD,
            NodeConfig.DEFAULT_CPU_OVERCOMMIT);
    this.config = config;
    this.server = env.server();
    daemon = NodeDaemon.start(env.server().adminClient(), config);
  }

  @AfterAll
  void stop() throws Exception {
    if (client != null) {
      client.resources(VirtualMachine.class).inNamespace(ns).delete();
      try {
        await()
            .atMost(Duration.ofSeconds(90))
            .until(
                () ->
                    client
                        .resources(VirtualMachine.class)
                        .inNamespace(ns)
                        .list()
                        .getItems()
                        .isEmpty());
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        System.err.println("VMs not cleaned up by the node daemon in time");
      }
    }
    if (daemon != null) {
      daemon.close();
    }
    if (operator != null) {
      operator.close();
    }
    if (dir != null) {
      succeeds("pkill", "-9", "-f", dir.toString()); // anything the test started and a failure left
    }
    if (netns != null) {
      succeeds("ip", "netns", "delete", netns);
      succeeds("ip", "netns", "delete", netns + "-out");
    }
    if (pool != null && !succeeds("umount", pool.toString())) {
      succeeds("umount", "-l", pool.toString());
    }
    if (dir != null) {
      succeeds("rm", "-rf", dir.toString());
    }
    if (config != null) {
      // rmdir: the VMs' cgroups are gone with their VMs (asserted above), unless a test failed
      // before its delete; their processes were killed just now.
      try (var hierarchies = Files.list(config.cgroupRoot())) {
        for (Path parent : hierarchies.map(h -> h.resolve(config.cgroupParent())).toList()) {
          if (Files.isDirectory(parent)) {
            try (var children = Files.list(parent)) {
              for (Path vm : children.filter(Files::isDirectory).toList()) {
                await().atMost(Duration.ofSeconds(10)).until(() -> rmdir(vm));
              }
            }
            Files.delete(parent);
          }
        }
      }
    }
  }

  static boolean rmdir(Path cgroup) {
    try {
      Files.deleteIfExists(cgroup);
      return true;
    } catch (IOException e) {
      return false; // busy until its killed processes have exited
    }
  }

  /** The VM's cgroup in the v1 memory hierarchy (this machine's kind: docs/node-daemon.md). */
  Path memoryCgroup(String id) {
    return config.cgroupRoot().resolve("memory").resolve(config.cgroupParent()).resolve(id);
  }

  String current = "life";

  VirtualMachine vm() {
    return client.resources(VirtualMachine.class).inNamespace(ns).withName(current).get();
  }

  VirtualMachine awaitVm(java.util.function.Predicate<VirtualMachine> p) {
    try {
      await()
          .atMost(BOOT)
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                VirtualMachine vm = vm();
                return vm != null && vm.getStatus() != null && p.test(vm);
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(diagnostics(), e);
    }
    return vm();
  }

  String diagnostics() {
    String console = "";
    try {
      Path log = pool.resolve("vms").resolve(VmPlanner.id(vm())).resolve("console.log");
      console = Files.exists(log) ? Files.readString(log) : "(no console log)";
      console = console.substring(Math.max(0, console.length() - 3000));
    } catch (Exception ignored) {
      // diagnostics only
    }
    return "VM did not get there:\n"
        + io.fabric8.kubernetes.client.utils.Serialization.asYaml(vm())
        + "\nHost:\n"
        + io.fabric8.kubernetes.client.utils.Serialization.asYaml(
            client.resources(Host.class).withName(host).get())
        + "\nconsole:\n"
        + console;
  }

  static boolean readyRunning(VirtualMachine vm) {
    return vm.getStatus().phase == VmPhase.Running
        && Conditions.isTrue(vm.getStatus().conditions, "Ready");
  }

  /** Running, and the guest agent has answered this boot (status.guest is this boot's). */
  static boolean agentConnected(VirtualMachine vm) {
    return readyRunning(vm)
        && Conditions.sameReason(vm.getStatus().conditions, "Ready", "AgentConnected");
  }

  String ssh(String ip, String command) throws Exception {
    return run(sshCommand(key, ip, command));
  }

  String[] sshCommand(Path identity, String ip, String command) {
    return new String[] {
      "ip",
      "netns",
      "exec",
      netns,
      "ssh",
      "-i",
      identity.toString(),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "ConnectTimeout=20",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      "vmctl@" + ip,
      command
    };
  }

  /**
   * Issue 21 item 8, from a real guest: a service on the host (any of its addresses) is closed to
   * the guest, the world beyond the host is reachable through NAT.
   */
  void guestStopsAtTheHostButEgressWorks(String ip) throws Exception {
    String outside = netns + "-out";
    run("ip", "netns", "add", outside);
    NamespaceWeb.linkOutside(netns, outside, "10.123.0");
    for (String ns : List.of(netns, outside)) {
      NamespaceWeb.serve(ns, 18090, dir.resolve("www-" + ns)); // ended by stop()'s pkill of dir
    }
    String probe =
        "for a in 10.124.0.1 10.123.0.1 10.123.0.2; do"
            + " if timeout 3 bash -c \"exec 3<>/dev/tcp/$a/18090\" 2>/dev/null;"
            + " then echo $a open; else echo $a closed; fi; done";
    assertThat(ssh(ip, probe))
        .as("host addresses closed to the guest, the outside reachable through NAT")
        .isEqualTo("10.124.0.1 closed\n10.123.0.1 closed\n10.123.0.2 open\n");
  }

  @Test
  void wholeLife() throws Exception {
    current = "life";
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              Host h = client.resources(Host.class).withName(host).get();
              return h != null
                  && h.getStatus() != null
                  && h.getStatus().images.contains("debian-12");
            });

    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("life");
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 1;
    vm.getSpec().memory = "768Mi";
    vm.getSpec().disk = "2Gi";
    vm.getSpec().sshKeys = List.of(Files.readString(dir.resolve("id_ed25519.pub")).trim());
    Instant created = Instant.now();
    client.resource(vm).create();

    VirtualMachine running = awaitVm(VmLifeGuestTest::readyRunning);
    System.out.printf(
        "node daemon: create -> Running with a real guest: %d ms%n",
        Duration.between(created, Instant.now()).toMillis());
    String ip = running.getStatus().ipAddress;
    assertThat(Subnet.parse("10.124.0.0/24").contains(ip)).isTrue();
    // Running means SSH works, with /data mounted, whether or not the agent has answered yet: the
    // network, hostname and keys were seeded before boot (decision 29).
    System.out.printf(
        "node daemon: Running with Ready reason %s%n",
        Conditions.find(running.getStatus().conditions, "Ready").orElseThrow().getReason());
    assertThat(ssh(ip, "hostname; findmnt -n -o SOURCE /data | wc -l")).isEqualTo("life\n1\n");
    running = awaitVm(VmLifeGuestTest::agentConnected);
    assertThat(running.getMetadata().getFinalizers()).contains(VirtualMachine.NODE_FINALIZER);
    assertThat(running.getStatus().guest.os).contains("Debian");
    String id = VmPlanner.id(running);
    Path vmDir = pool.resolve("vms").resolve(id);
    assertThat(vmDir.resolve("root.img")).exists();
    assertThat(vmDir.resolve("data.img")).exists();
    assertThat(succeeds("ip", "-n", netns, "link", "show", "vt" + id)).isTrue();
    String firstBoot = running.getStatus().guest.bootId;
    guestStopsAtTheHostButEgressWorks(ip);

    // Keys follow Shares and the SSH gateway's published proxy key without a reboot.
    Path bobKey = dir.resolve("bob_ed25519");
    Path gatewayKey = dir.resolve("gateway_ed25519");
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", bobKey.toString());
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", gatewayKey.toString());
    assertThat(succeeds(sshCommand(bobKey, ip, "true"))).as("not shared yet").isFalse();
    User bob = new User();
    bob.getMetadata().setName("bob-" + host);
    bob.setSpec(new User.Spec());
    bob.getSpec().email = "Bob-" + host + "@example.com";
    bob.getSpec().sshKeys = List.of(Files.readString(Path.of(bobKey + ".pub")).trim());
    client.resource(bob).create();
    Share share = new Share();
    share.getMetadata().setName("to-bob");
    share.getMetadata().setNamespace(ns);
    share.setSpec(new Share.Spec());
    share.getSpec().vm = "life";
    share.getSpec().email = "bob-" + host + "@EXAMPLE.com";
    client.resource(share).create();
    client
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("vmctl-ssh-gateway-keys")
                .withNamespace(ns)
                .endMetadata()
                .withData(
                    Map.of(
                        "authorized_keys",
                        Files.readString(Path.of(gatewayKey + ".pub")).trim() + "\n"))
                .build())
        .create();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> succeeds(sshCommand(bobKey, ip, "true")));
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> succeeds(sshCommand(gatewayKey, ip, "true")));
    client.resource(share).delete();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .alias("the Share's removal takes bob's key away")
        .until(() -> !succeeds(sshCommand(bobKey, ip, "true")));
    assertThat(ssh(ip, "echo owner still in")).isEqualTo("owner still in\n");
    client.resource(bob).delete();

    // The hypervisor dies: runStrategy Always brings the VM back.
    long pid = Long.parseLong(Files.readString(vmDir.resolve("qemu.pid")).trim());
    assertThat(Files.readAllLines(memoryCgroup(id).resolve("cgroup.procs")))
        .as("QEMU and vhost-device-vsock run in the VM's cgroup")
        .contains("" + pid, Files.readString(vmDir.resolve("vhost.pid")).trim());
    run("kill", "-9", Long.toString(pid));
    VirtualMachine back =
        awaitVm(
            v ->
                readyRunning(v)
                    && v.getStatus().restartCount != null
                    && v.getStatus().restartCount >= 1
                    && !firstBoot.equals(v.getStatus().guest.bootId));
    assertThat(back.getStatus().ipAddress).as("stable address").isEqualTo(ip);
    String secondBoot = back.getStatus().guest.bootId;

    // Resize: QEMU microvm cannot hot-plug, so the VM says a restart is needed.
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getSpec().cpus = 2;
          return v;
        });
    awaitVm(v -> Conditions.isTrue(v.getStatus().conditions, "RestartRequired"));

    // Restart by annotation.
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getMetadata()
              .getAnnotations()
              .put(VirtualMachine.RESTARTED_AT_ANNOTATION, Instant.now().toString());
          return v;
        });
    VirtualMachine restarted =
        awaitVm(v -> readyRunning(v) && !secondBoot.equals(v.getStatus().guest.bootId));
    assertThat(restarted.getStatus().restartCount).isEqualTo(back.getStatus().restartCount + 1);
    assertThat(restarted.getStatus().macAddress).isEqualTo(running.getStatus().macAddress);
    assertThat(Conditions.isTrue(restarted.getStatus().conditions, "RestartRequired")).isFalse();
    assertThat(ssh(ip, "nproc").trim()).as("restart applied the new size").isEqualTo("2");

    // Pause and resume.
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getSpec().paused = true;
          return v;
        });
    awaitVm(
        v ->
            v.getStatus().phase == VmPhase.Paused
                && Conditions.isTrue(v.getStatus().conditions, "Paused"));
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getSpec().paused = false;
          return v;
        });
    awaitVm(v -> readyRunning(v) && !Conditions.isTrue(v.getStatus().conditions, "Paused"));
    assertThat(ssh(ip, "echo resumed")).isEqualTo("resumed\n");

    // Halted stops the VM but keeps its volumes and address.
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getSpec().runStrategy = dev.vmctl.api.v1alpha1.RunStrategy.Halted;
          return v;
        });
    VirtualMachine halted = awaitVm(v -> v.getStatus().phase == VmPhase.Stopped);
    assertThat(succeeds("pgrep", "-f", "vmctl-" + id)).as("no QEMU while Halted").isFalse();
    assertThat(vmDir.resolve("data.img")).exists();
    assertThat(halted.getStatus().ipAddress).isEqualTo(ip);

    // Issue 15: stopped for good, it gives back its vCPUs and memory and keeps host and disks;
    // asked to run again, the operator grants them on the same host and the node daemon boots it.
    VirtualMachine released = awaitVm(v -> !dev.vmctl.api.status.Admission.granted(v.getStatus()));
    assertThat(released.getStatus().nodeName).isEqualTo(host);
    assertThat(released.getStatus().allocated.disk).isEqualTo("2Gi");
    await() // the host counts no vCPU for it from its next heartbeat
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                client.resources(Host.class).withName(host).get().getStatus().allocated.cpus == 0);
    dev.vmctl.api.kube.Edits.edit(
        client.resources(VirtualMachine.class).inNamespace(ns).withName("life"),
        v -> {
          v.getSpec().runStrategy = dev.vmctl.api.v1alpha1.RunStrategy.Always;
          return v;
        });
    VirtualMachine again = awaitVm(VmLifeGuestTest::readyRunning);
    assertThat(again.getStatus().allocated.cpus)
        .as("granted again at its maximum")
        .isEqualTo(
            again.getSpec().maxCpus != null ? again.getSpec().maxCpus : again.getSpec().cpus);
    assertThat(again.getStatus().ipAddress).isEqualTo(ip);
    assertThat(Conditions.sameReason(again.getStatus().conditions, "Scheduled", "Admitted"))
        .isTrue();
    assertThat(ssh(ip, "echo back")).isEqualTo("back\n");

    // The node daemon told the story in Events.
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .extracting(e -> e.getReason())
        .contains("Scheduled", "Starting", "Running", "HypervisorExited", "Restarting");

    // Delete: graceful shutdown, then nothing is left.
    client.resources(VirtualMachine.class).inNamespace(ns).withName("life").delete();
    await().atMost(Duration.ofMinutes(2)).until(() -> vm() == null);
    assertThat(vmDir).doesNotExist();
    assertThat(succeeds("ip", "-n", netns, "link", "show", "vt" + id)).as("TAP removed").isFalse();
    assertThat(succeeds("pgrep", "-f", "vmctl-" + id)).as("no QEMU left").isFalse();
    assertThat(succeeds("pgrep", "-f", vmDir.resolve("vhost.sock").toString()))
        .as("no vhost-device-vsock left")
        .isFalse();
    assertThat(memoryCgroup(id)).as("VM cgroup removed").doesNotExist();
  }

  VirtualMachine create(String name) throws IOException {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 1;
    vm.getSpec().memory = "512Mi";
    vm.getSpec().disk = "1Gi";
    current = name;
    return client.resource(vm).create();
  }

  @Test
  void daemonRestartMidBootAdoptsTheVmAndDeleteWhileProvisioningLeavesNothing() throws Exception {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> client.resources(Host.class).withName(host).get() != null);
    create("adopt");
    VirtualMachine starting = awaitVm(v -> v.getStatus().phase == VmPhase.Starting);
    String id = VmPlanner.id(starting);
    Path vmDir = pool.resolve("vms").resolve(id);
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(vmDir.resolve("qemu.pid")));
    String qemuPid = Files.readString(vmDir.resolve("qemu.pid")).trim();

    // The daemon goes away in the middle of the boot (its reconcile threads are cut off) and a
    // new one starts: it must adopt the running hypervisor, not start a second one.
    daemon.close();
    daemon = NodeDaemon.start(server.adminClient(), config);
    VirtualMachine adopted = awaitVm(VmLifeGuestTest::readyRunning);
    assertThat(Files.readString(vmDir.resolve("qemu.pid")).trim())
        .as("same QEMU process")
        .isEqualTo(qemuPid);
    assertThat(adopted.getStatus().restartCount).as("adoption is not a restart").isNull();
    assertThat(run("pgrep", "-c", "-f", "vmctl-" + id).trim()).isEqualTo("1");
    assertThat(Files.readAllLines(memoryCgroup(id).resolve("cgroup.procs")))
        .as("the adopted QEMU is still in its VM cgroup")
        .contains(qemuPid);

    // Deleting a VM that is still being provisioned converges to nothing left.
    create("doomed");
    VirtualMachine doomed = awaitVm(v -> v.getStatus().ipAddress != null);
    String doomedId = VmPlanner.id(doomed);
    client.resources(VirtualMachine.class).inNamespace(ns).withName("doomed").delete();
    await().atMost(Duration.ofMinutes(3)).until(() -> vm() == null);
    assertThat(pool.resolve("vms").resolve(doomedId)).doesNotExist();
    assertThat(succeeds("ip", "-n", netns, "link", "show", "vt" + doomedId)).isFalse();
    assertThat(succeeds("pgrep", "-f", "vmctl-" + doomedId)).isFalse();

    current = "adopt";
    client.resources(VirtualMachine.class).inNamespace(ns).withName("adopt").delete();
    await().atMost(Duration.ofMinutes(2)).until(() -> vm() == null);
    assertThat(succeeds("pgrep", "-f", "vmctl-" + id)).isFalse();
    assertThat(vmDir).doesNotExist();
  }

  @Test
  void killMinus9OfTheDaemonProcessDuringProvisioningConverges() throws Exception {
    daemon.close(); // this test runs the daemon as its own process, so it can be killed for real
    daemon = null;
    ProcessBuilder pb =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.vmctl.node.NodeDaemon")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("daemon-process.log").toFile());
    Map<String, String> e = pb.environment();
    e.put("KUBECONFIG", server.kubeconfig().toString());
    e.put("VMCTL_NODE_NAME", host);
    e.put("VMCTL_STATE_DIR", pool.toString());
    e.put("VMCTL_STORAGE_POOL", pool.toString());
    e.put("VMCTL_STORAGE_DRIVER", "btrfs");
    e.put("VMCTL_HYPERVISOR", "qemu");
    e.put("VMCTL_VM_SUBNET", "10.124.0.0/24");
    e.put("VMCTL_BRIDGE", "vmbr0");
    e.put("VMCTL_NETNS", netns);
    e.put("VMCTL_KERNEL_DIR", config.kernelDir().toString());
    e.put("VMCTL_VHOST_VSOCK", config.vhostVsock());
    e.put("VMCTL_HTTP_PORT", "0");
    e.put("VMCTL_HEARTBEAT_SECONDS", "2");
    e.put("VMCTL_RESERVED_MEMORY", "256Mi");
    e.put("VMCTL_CGROUP_PARENT", config.cgroupParent());
    Process external = pb.start();
    try {
      create("killed");
      VirtualMachine provisioning = awaitVm(v -> v.getStatus().ipAddress != null);
      String id = VmPlanner.id(provisioning);
      external.destroyForcibly(); // SIGKILL, in the middle of provisioning
      assertThat(external.waitFor(10, TimeUnit.SECONDS)).isTrue();

      daemon = NodeDaemon.start(server.adminClient(), config);
      VirtualMachine running = awaitVm(VmLifeGuestTest::readyRunning);
      assertThat(running.getStatus().ipAddress)
          .as("identity kept")
          .isEqualTo(provisioning.getStatus().ipAddress);
      assertThat(run("pgrep", "-c", "-f", "vmctl-" + id).trim())
          .as("exactly one QEMU")
          .isEqualTo("1");
      Path vmDir = pool.resolve("vms").resolve(id);
      assertThat(vmDir.resolve("root.img.tmp")).doesNotExist();
      assertThat(vmDir.resolve("data.img.tmp")).doesNotExist();

      client.resources(VirtualMachine.class).inNamespace(ns).withName("killed").delete();
      await().atMost(Duration.ofMinutes(2)).until(() -> vm() == null);
      assertThat(vmDir).doesNotExist();
      assertThat(succeeds("pgrep", "-f", "vmctl-" + id)).isFalse();
    } finally {
      external.destroyForcibly();
      if (daemon == null) {
        daemon = NodeDaemon.start(server.adminClient(), config);
      }
    }
  }

  /**
   * Issue 15 items 3 and 4 in a real guest: sshd serves exactly the host key the node daemon
   * published (made on the host, written into the volume; the guest generated none), the same key
   * after a restart; the root filesystem grows to its volume (grown here by the test, as the host
   * does for spec.rootDisk); /data is writable by vmctl.
   */
  @Test
  void sshdServesThePublishedHostKeyAndTheRootFillsItsVolume() throws Exception {
    current = "keys";
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName("keys");
    vm.getMetadata().setNamespace(ns);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 1;
    vm.getSpec().memory = "768Mi";
    vm.getSpec().disk = "2Gi";
    vm.getSpec().sshKeys = List.of(Files.readString(dir.resolve("id_ed25519.pub")).trim());
    client.resource(vm).create();
    VirtualMachine running = awaitVm(VmLifeGuestTest::agentConnected);
    String ip = running.getStatus().ipAddress;
    List<String> published = running.getStatus().sshHostKeys;
    assertThat(published).hasSize(1);
    assertThat(published.get(0)).startsWith("ssh-ed25519 AAAA");
    assertThat(io.fabric8.kubernetes.client.utils.Serialization.asYaml(running))
        .doesNotContain("PRIVATE KEY");
    assertThat(servedHostKeys(ip)).containsExactlyElementsOf(published);
    assertThat(sshPinned(ip, published, "echo pinned")).isEqualTo("pinned\n");
    assertThat(
            ssh(
                ip,
                "ls /etc/ssh/ | grep ^ssh_host_;"
                    + " systemctl show -p ConditionResult --value vmctl-hostkey-fallback"))
        .as("only the host's key, and the guest's fallback did not run")
        .isEqualTo("ssh_host_ed25519_key\nssh_host_ed25519_key.pub\nno\n");
    assertThat(ssh(ip, "touch /data/by-vmctl && stat -c %U /data/by-vmctl /data"))
        .isEqualTo("vmctl\nvmctl\n");

    // Stopped (volumes kept), the root volume grown on the host, started again.
    setRunStrategy("keys", dev.vmctl.api.v1alpha1.RunStrategy.Halted);
    awaitVm(v -> v.getStatus().phase == VmPhase.Stopped);
    Path root = pool.resolve("vms").resolve(VmPlanner.id(running)).resolve("root.img");
    long grown = Math.max(Files.size(root), 6L << 30) + (1L << 30);
    run("truncate", "-s", Long.toString(grown), root.toString());
    setRunStrategy("keys", dev.vmctl.api.v1alpha1.RunStrategy.Always);
    String firstBoot = running.getStatus().guest.bootId;
    VirtualMachine again =
        awaitVm(v -> readyRunning(v) && !firstBoot.equals(v.getStatus().guest.bootId));
    assertThat(again.getStatus().sshHostKeys).isEqualTo(published);
    assertThat(servedHostKeys(ip)).containsExactlyElementsOf(published);
    await()
        .atMost(Duration.ofMinutes(2))
        .ignoreExceptions()
        .until(() -> ssh(ip, "systemctl is-active vmctl-growroot").equals("active\n"));
    long volume = Files.size(root); // the host may have grown it further (spec.rootDisk)
    String sizes =
        ssh(
            ip,
            "sudo dumpe2fs -h $(findmnt -no SOURCE /) 2>/dev/null"
                + " | awk '/^Block count:/{c=$3} /^Block size:/{s=$3} END{printf \"%.0f\\n\", c*s}';"
                + " sudo blockdev --getsize64 $(findmnt -no SOURCE /)");
    assertThat(sizes).isEqualTo(volume + "\n" + volume + "\n");
    assertThat(ssh(ip, "df -B1M --output=avail / | tail -1").trim())
        .as("free space on / in MiB")
        .satisfies(free -> assertThat(Long.parseLong(free)).isGreaterThan(5L << 10));
    assertThat(ssh(ip, "cat /data/by-vmctl; touch /data/again && echo ok")).isEqualTo("ok\n");
    client.resources(VirtualMachine.class).inNamespace(ns).withName("keys").delete();
    await().atMost(Duration.ofSeconds(90)).until(() -> vm() == null);
    assertThat(pool.resolve("vms").resolve(VmPlanner.id(running))).doesNotExist();
  }

  void setRunStrategy(String name, dev.vmctl.api.v1alpha1.RunStrategy strategy) {
    client
        .resources(VirtualMachine.class)
        .inNamespace(ns)
        .withName(name)
        // A merge patch carries no resourceVersion: the daemon's status writes cannot conflict.
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"spec\":{\"runStrategy\":\"" + strategy.name() + "\"}}");
  }

  /** The host keys the VM's sshd presents, as "type base64" lines (ssh-keyscan, from the host). */
  List<String> servedHostKeys(String ip) throws IOException {
    String scan = run("ip", "netns", "exec", netns, "ssh-keyscan", "-T", "20", ip);
    return scan.lines()
        .filter(l -> !l.startsWith("#") && !l.isBlank())
        .map(l -> l.split("\\s+"))
        .map(f -> f[1] + " " + f[2])
        .sorted()
        .toList();
  }

  /** ssh with strict host key checking against a known_hosts of the published keys only. */
  String sshPinned(String ip, List<String> published, String command) throws Exception {
    Path knownHosts = Files.createTempFile(dir, "known_hosts", "");
    Files.write(knownHosts, published.stream().map(k -> ip + " " + k).toList());
    String[] argv = sshCommand(key, ip, command);
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].equals("StrictHostKeyChecking=no")) {
        argv[i] = "StrictHostKeyChecking=yes";
      } else if (argv[i].equals("UserKnownHostsFile=/dev/null")) {
        argv[i] = "UserKnownHostsFile=" + knownHosts;
      }
    }
    return run(argv);
  }
}
