package dev.vmctl.node.host.cgroup;

import static dev.vmctl.node.host.cgroup.CgroupLimitsTest.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.agent.client.AgentClient;
import dev.vmctl.node.NodeConfig;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.hypervisor.QemuHypervisor;
import dev.vmctl.node.model.VmPlan;
import dev.vmctl.testkit.Shell;
import io.fabric8.kubernetes.api.model.Quantity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real guests under QEMU (software emulation) in their VM cgroups with the default overhead: QEMU
 * and vhost-device-vsock are in them, each VM has its own limits, and a guest that fills most of
 * its memory and runs a lot of code stays under the memory limit (the kernel never had to hold it
 * back: {@code memory.failcnt} 0). Prints the figures docs/node-daemon.md records.
 */
@Tag("guest")
class VmCgroupGuestTest {
  static final Path ROOT = Path.of("/sys/fs/cgroup");
  final String suffix = UUID.randomUUID().toString().substring(0, 6);
  final String parent = "vmctl-test-" + suffix;
  final String netns = "vmctl-cg-" + suffix;
  final Commands commands = new ProcessCommands();
  @TempDir Path dir;
  final List<VmPlan> plans = new ArrayList<>();
  VmPlan plan; // the one print() describes
  QemuHypervisor qemu;

  @AfterEach
  void cleanUp() throws Exception {
    if (qemu != null) {
      for (VmPlan p : plans) {
        qemu.stop(p, Duration.ZERO);
      }
    }
    commands.run(List.of("ip", "netns", "delete", netns));
    for (HostCgroups.Hierarchy h : HostCgroups.discover(ROOT)) {
      Files.deleteIfExists(h.path().resolve(parent)); // rmdir; the VMs' are gone with stop
      assertThat(h.path().resolve(parent)).as("nothing left").doesNotExist();
    }
  }

  /**
   * Issue 15: two VMs of different sizes boot side by side, each in its own cgroup with its own
   * numbers (memory + overhead, CPU weight by vCPUs); the first then fills its memory and stays
   * under its limit.
   */
  @Test
  void twoGuestsRunInsideTheirOwnCgroupsWithTheirOwnLimits() throws Exception {
    commands.must("ip", "netns", "add", netns);
    long overhead =
        Quantity.getAmountInBytes(new Quantity(NodeConfig.DEFAULT_VM_MEMORY_OVERHEAD))
            .longValueExact();
    HostCgroups cgroups = (HostCgroups) HostCgroups.detect(ROOT, parent, overhead);
    qemu =
        new QemuHypervisor(
            commands,
            "qemu-system-x86_64",
            Shell.requiredPath("VMCTL_VHOST_VSOCK"),
            Path.of(Shell.requiredPath("VMCTL_GUEST_KERNEL_DIR")),
            netns,
            false,
            Duration.ofSeconds(5),
            cgroups);
    VmPlan small = start("a" + suffix, 1, 512 * MIB, 2);
    VmPlan large = start("b" + suffix, 2, 768 * MIB, 3);
    plan = small;

    for (VmPlan p : List.of(small, large)) {
      Path memory = ROOT.resolve("memory").resolve(parent).resolve(p.id());
      Path cpu = ROOT.resolve("cpu").resolve(parent).resolve(p.id());
      assertThat(Files.readAllLines(memory.resolve("cgroup.procs")))
          .as("QEMU and vhost-device-vsock of " + p.id())
          .contains(
              Files.readString(p.dir().resolve("qemu.pid")).trim(),
              Files.readString(p.dir().resolve("vhost.pid")).trim());
      long limit =
          Long.parseLong(Files.readString(memory.resolve("memory.limit_in_bytes")).strip());
      long shares = Long.parseLong(Files.readString(cpu.resolve("cpu.shares")).strip());
      assertThat(limit).isEqualTo(p.memoryBytes() + overhead);
      assertThat(shares).isEqualTo(1024 * p.cpus());
      System.out.printf(
          "VM %s (%d vCPUs, %d MiB): memory.limit_in_bytes %d MiB, cpu.shares %d%n",
          p.id(), p.cpus(), p.memoryBytes() / MIB, limit / MIB, shares);
    }
    for (VmPlan p : List.of(small, large)) {
      try (AgentClient agent =
          AgentClient.connectWithRetry(
              p.vsockSocket(), AgentClient.AGENT_PORT, Instant.now().plusSeconds(300))) {
        assertThat(agent.exec(List.of("nproc"), Map.of(), null, Duration.ofSeconds(30)).stdout())
            .as("the guest of " + p.id() + " booted with its vCPUs")
            .isEqualTo(p.cpus() + "\n");
      }
    }

    Path memory = ROOT.resolve("memory").resolve(parent).resolve(small.id());
    long limit = Long.parseLong(Files.readString(memory.resolve("memory.limit_in_bytes")).strip());
    try (AgentClient agent =
        AgentClient.connectWithRetry(
            small.vsockSocket(), AgentClient.AGENT_PORT, Instant.now().plusSeconds(300))) {
      print("booted", memory);
      // Touch most of the guest's memory (tmpfs is RAM) and run a lot of different code.
      AgentClient.ExecResult fill =
          agent.exec(
              List.of(
                  "sh",
                  "-c",
                  "dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 status=none"
                      + " && find / -xdev -type f -name '*.so*' 2>/dev/null | head -200"
                      + " | xargs -r sha256sum >/dev/null"
                      + " && (apt-cache policy; ls -laR /usr /etc; ps aux; df -h) >/dev/null 2>&1"
                      + "; echo done"),
              Map.of(),
              null,
              Duration.ofSeconds(240));
      assertThat(fill.stdout()).contains("done");
      print("after filling 200 MiB of guest memory and running code", memory);
    }
    assertThat(qemu.isRunning(small)).as("QEMU was not killed by its limit").isTrue();
    assertThat(Files.readString(memory.resolve("memory.failcnt")).strip())
        .as("usage never reached the limit")
        .isEqualTo("0");
    long peak =
        Long.parseLong(Files.readString(memory.resolve("memory.max_usage_in_bytes")).strip());
    assertThat(peak).isLessThan(limit);

    for (VmPlan p : List.of(small, large)) {
      qemu.stop(p, Duration.ZERO);
      for (Path d : cgroups.dirs(p)) {
        assertThat(d).as("removed with the stop").doesNotExist();
      }
    }
    plans.clear();
  }

  VmPlan start(String id, int cpus, long memory, int n) throws IOException {
    VmPlan p =
        new VmPlan(
            id,
            "cg" + n,
            "test",
            dir.resolve(id),
            "debian-12",
            cpus,
            cpus,
            memory,
            memory,
            2L << 30,
            "vt" + id,
            "52:54:0a:7b:00:0" + n,
            "10.123.0." + n,
            "10.123.0.1",
            24,
            n + 1);
    Files.createDirectories(p.dir());
    Shell.run(
        Duration.ofSeconds(120),
        "cp",
        "--sparse=always",
        Shell.requiredPath("VMCTL_GUEST_IMAGE"),
        p.rootVolume().toString());
    Shell.run(Duration.ofSeconds(30), "truncate", "-s", "2G", p.rootVolume().toString());
    Shell.run(Duration.ofSeconds(30), "truncate", "-s", "256M", p.dataVolume().toString());
    Shell.run(
        Duration.ofSeconds(30), "mkfs.ext4", "-q", "-L", "vmctl-data", p.dataVolume().toString());
    commands.must("ip", "-n", netns, "tuntap", "add", "mode", "tap", "name", p.tap());
    commands.must("ip", "-n", netns, "link", "set", p.tap(), "up");
    plans.add(p);
    qemu.start(p, p.rootVolume().toString(), p.dataVolume().toString());
    return p;
  }

  void print(String when, Path memory) throws IOException {
    long usage = Long.parseLong(Files.readString(memory.resolve("memory.usage_in_bytes")).strip());
    long peak =
        Long.parseLong(Files.readString(memory.resolve("memory.max_usage_in_bytes")).strip());
    StringBuilder stat = new StringBuilder();
    for (String line : Files.readAllLines(memory.resolve("memory.stat"))) {
      String[] kv = line.split(" ");
      if (List.of("rss", "cache", "shmem", "mapped_file").contains(kv[0])) {
        stat.append(kv[0]).append('=').append(Long.parseLong(kv[1]) / MIB).append("MiB ");
      }
    }
    StringBuilder rss = new StringBuilder();
    for (String name : List.of("qemu.pid", "vhost.pid")) {
      String pid = Files.readString(plan.dir().resolve(name)).trim();
      rss.append(name.replace(".pid", "")).append(':');
      for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
        if (line.startsWith("RssAnon")
            || line.startsWith("RssFile")
            || line.startsWith("RssShmem")) {
          rss.append(' ').append(line.replaceAll("\\s+", " "));
        }
      }
      rss.append("; ");
    }
    System.out.printf(
        "VM cgroup %s: usage %d MiB, peak %d MiB, %s| %s%n",
        when, usage / MIB, peak / MIB, stat, rss);
  }
}
