package dev.vmctl.node.host.cgroup;

import static dev.vmctl.node.host.cgroup.CgroupLimitsTest.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.hypervisor.CloudHypervisor;
import dev.vmctl.node.hypervisor.CloudHypervisorEmulatorMain;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VM cgroups in this machine's real hierarchies (as root): cloud-hypervisor's launch path with the
 * emulator as the VMM process ({@link CloudHypervisorEmulatorMain}, started through a wrapper
 * script exactly like the binary). A cgroup "pod" of the test's own stands in for the node-daemon
 * pod: killing every process in it and removing it is what the kubelet does when the pod goes.
 * Everything is made under parents named for this run and removed afterwards.
 */
@Tag("host")
class VmCgroupHostTest {
  static final Path ROOT = Path.of("/sys/fs/cgroup");
  static final long OVERHEAD = 64 * MIB;

  final String suffix = UUID.randomUUID().toString().substring(0, 6);
  final String parent = "vmctl-test-" + suffix;
  final String pod = "vmctl-test-pod-" + suffix;
  final Commands commands = new ProcessCommands();
  @TempDir Path dir;
  Path emulator;
  HostCgroups cgroups;
  VmPlan plan;

  @BeforeEach
  void setUp() throws IOException {
    emulator = dir.resolve("cloud-hypervisor");
    Files.writeString(
        emulator,
        "#!/bin/sh\nexec '"
            + Path.of(System.getProperty("java.home"), "bin", "java")
            + "' -cp '"
            + System.getProperty("java.class.path")
            + "' "
            + CloudHypervisorEmulatorMain.class.getName()
            + " \"$@\"\n");
    Files.setPosixFilePermissions(emulator, PosixFilePermissions.fromString("rwxr-xr-x"));
    VmCgroup detected = HostCgroups.detect(ROOT, parent, OVERHEAD);
    assertThat(detected)
        .as("this machine's cgroups are writable (run as root)")
        .isInstanceOf(HostCgroups.class);
    cgroups = (HostCgroups) detected;
    String id = "t" + suffix;
    plan =
        new VmPlan(
            id,
            "web",
            "alice",
            dir.resolve("vms").resolve(id),
            "debian-12",
            2,
            2,
            512 * MIB,
            512 * MIB,
            1L << 30,
            "vt" + id,
            "02:00:00:00:00:01",
            "10.100.0.2",
            "10.100.0.1",
            24,
            3);
  }

  @AfterEach
  void cleanUp() throws IOException {
    for (HostCgroups.Hierarchy h : HostCgroups.discover(ROOT)) {
      for (Path cgroup :
          List.of(
              h.path().resolve(parent).resolve(plan.id()),
              h.path().resolve(parent),
              h.path().resolve(pod))) {
        if (Files.isDirectory(cgroup)) {
          killAll(cgroup);
          await().atMost(Duration.ofSeconds(10)).until(() -> rmdir(cgroup));
        }
      }
    }
    for (HostCgroups.Hierarchy h : HostCgroups.discover(ROOT)) {
      assertThat(h.path().resolve(parent)).as("nothing left").doesNotExist();
      assertThat(h.path().resolve(pod)).as("nothing left").doesNotExist();
    }
  }

  CloudHypervisor hypervisor(Commands launcher, VmCgroup vmCgroup) {
    return new CloudHypervisor(
        launcher, emulator.toString(), dir, null, Duration.ofSeconds(5), vmCgroup);
  }

  long vmmPid() throws IOException {
    return Long.parseLong(Files.readString(plan.dir().resolve("cloud-hypervisor.pid")).trim());
  }

  /** The lines of /proc/<pid>/cgroup: "hierarchy-id:controllers:path". */
  static List<String> cgroupsOf(String pid) throws IOException {
    return Files.readAllLines(Path.of("/proc", pid, "cgroup"));
  }

  @Test
  void theVmmRunsInItsOwnCgroupWithThePlansLimitsAndNotInTheDaemons() throws IOException {
    CloudHypervisor ch = hypervisor(commands, cgroups);
    ch.start(plan, "/dev/null", "/dev/null");
    long pid = vmmPid();

    List<String> vmm = cgroupsOf("" + pid);
    assertThat(vmm).isNotEmpty().allMatch(l -> l.endsWith(":/" + parent + "/" + plan.id()));
    List<String> daemon = cgroupsOf("self");
    assertThat(vmm)
        .as("in none of the daemon's (this JVM's) cgroups")
        .doesNotContainAnyElementsOf(daemon);

    CgroupLimits limits = CgroupLimits.of(plan, OVERHEAD);
    assertThat(limits.memoryBytes()).isEqualTo(576 * MIB);
    Path memory = ROOT.resolve("memory").resolve(parent).resolve(plan.id());
    assertThat(Files.readString(memory.resolve("memory.limit_in_bytes")).strip())
        .isEqualTo("" + limits.memoryBytes());
    Path cpu = ROOT.resolve("cpu").resolve(parent).resolve(plan.id());
    assertThat(Files.readString(cpu.resolve("cpu.shares")).strip()).isEqualTo("2048");
    Path pids = ROOT.resolve("pids").resolve(parent).resolve(plan.id());
    assertThat(Files.readString(pids.resolve("pids.max")).strip()).isEqualTo("1024");
    assertThat(Long.parseLong(Files.readString(pids.resolve("pids.current")).strip()))
        .as("the VMM's threads are counted")
        .isPositive();
    cgroups.verify(plan, List.of(pid));
    System.out.printf(
        "emulated VMM (a JVM, not cloud-hypervisor): %s, VM cgroup usage %d MiB%n",
        Files.readAllLines(Path.of("/proc", "" + pid, "status")).stream()
            .filter(l -> l.startsWith("VmRSS"))
            .findFirst()
            .orElse("")
            .replaceAll("\\s+", " "),
        Long.parseLong(Files.readString(memory.resolve("memory.usage_in_bytes")).strip()) / MIB);

    // A restarted daemon adopts the VMM: its cgroup and limits are untouched.
    HostCgroups again = (HostCgroups) HostCgroups.detect(ROOT, parent, OVERHEAD);
    assertThat(again.needed(plan)).isFalse();
    CloudHypervisor adopting = hypervisor(commands, again);
    assertThat(adopting.isRunning(plan)).isTrue();
    again.verify(plan, List.of(pid));

    adopting.stop(plan, Duration.ZERO);
    await().atMost(Duration.ofSeconds(10)).until(() -> !alive(pid));
    for (Path d : cgroups.dirs(plan)) {
      assertThat(d).as("rmdir'd").doesNotExist();
    }
  }

  @Test
  void theVmmSurvivesTheDeathOfThePodThatLaunchedIt() throws Exception {
    long pid = launchFromThePodThenKillThePod(cgroups);

    assertThat(alive(pid)).as("the VMM outlived its launcher's cgroup").isTrue();
    CloudHypervisor adopting = hypervisor(commands, cgroups);
    assertThat(adopting.isRunning(plan)).isTrue();
    cgroups.verify(plan, List.of(pid));
    adopting.stop(plan, Duration.ZERO);
    for (Path d : cgroups.dirs(plan)) {
      assertThat(d).doesNotExist();
    }
  }

  @Test
  void fromACgroupNamespaceOfItsOwnALaunchJoinsThroughTheHosts() throws Exception {
    // As in a container on cgroup v2 (the kernel refuses moves out of the namespace where the
    // hierarchy is mounted with nsdelegate; this machine's is not, so only the path is shown).
    // In a hostPID pod the namespace entered is PID 1's; here this JVM's stands for the host's
    // (PID 1's cannot be opened in this sandbox).
    Path hostNs = Path.of("/proc", "" + ProcessHandle.current().pid(), "ns", "cgroup");
    HostCgroups viaHost = new HostCgroups(cgroups.hierarchies(), parent, OVERHEAD, hostNs);
    viaHost.apply(plan);
    assertThat(viaHost.joinCommand(plan)).startsWith("nsenter --cgroup=" + hostNs + " ");
    Process p =
        new ProcessBuilder(
                "unshare", "--cgroup", "sh", "-c", viaHost.joinCommand(plan) + "exec sleep 600")
            .start();
    try {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> viaHost.dirs(plan).stream().allMatch(d -> procsOf(d).contains(p.pid())));
      assertThat(Files.readSymbolicLink(Path.of("/proc", "" + p.pid(), "ns", "cgroup")))
          .as("in a cgroup namespace of its own")
          .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/cgroup")));
      viaHost.verify(plan, List.of(p.pid()));
    } finally {
      p.destroyForcibly().waitFor();
    }
    viaHost.remove(plan);
    for (Path d : viaHost.dirs(plan)) {
      assertThat(d).doesNotExist();
    }
  }

  static List<Long> procsOf(Path cgroup) {
    try {
      return procs(cgroup);
    } catch (IOException e) {
      return List.of();
    }
  }

  /** The control: the same launch without VM cgroups dies with the pod. */
  @Test
  void withoutVmCgroupsTheVmmDiesWithThePod() throws Exception {
    long pid = launchFromThePodThenKillThePod(VmCgroup.NONE);

    await().atMost(Duration.ofSeconds(10)).until(() -> !alive(pid));
    hypervisor(commands, VmCgroup.NONE).stop(plan, Duration.ZERO);
  }

  /**
   * Makes the pod cgroup, runs a stand-in daemon process and the VMM's launch from it (every host
   * command joins the pod first, as commands run by a daemon in a pod do), then kills everything in
   * the pod and removes it, as the kubelet does. Returns the VMM's pid.
   */
  long launchFromThePodThenKillThePod(VmCgroup vmCgroup) throws Exception {
    List<Path> podDirs = new ArrayList<>();
    for (HostCgroups.Hierarchy h : HostCgroups.discover(ROOT)) {
      Path d = h.path().resolve(pod);
      Files.createDirectories(d);
      if (!h.v2() && h.has("cpuset")) {
        for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
          Files.writeString(d.resolve(f), Files.readString(h.path().resolve(f)).strip());
        }
      }
      podDirs.add(d);
    }
    String joinPod =
        String.join(
            " && ",
            podDirs.stream().map(d -> "echo $$ >'" + d.resolve("cgroup.procs") + "'").toList());
    Commands inPod =
        argv -> {
          List<String> wrapped =
              new ArrayList<>(List.of("sh", "-c", joinPod + " && exec \"$@\"", "sh"));
          wrapped.addAll(argv);
          return commands.run(wrapped);
        };
    Process daemon = new ProcessBuilder("sh", "-c", joinPod + " && exec sleep 600").start();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> procs(podDirs.get(0)).contains(daemon.pid()));

    hypervisor(inPod, vmCgroup).start(plan, "/dev/null", "/dev/null");
    long pid = vmmPid();

    for (Path d : podDirs) {
      killAll(d);
    }
    for (Path d : podDirs) {
      await().atMost(Duration.ofSeconds(10)).until(() -> rmdir(d));
    }
    assertThat(daemon.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    return pid;
  }

  /** Running, not a zombie nobody reaped yet (this machine's PID 1 reaps late). */
  static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", "" + pid, "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException e) {
      return false;
    }
  }

  static List<Long> procs(Path cgroup) throws IOException {
    return Files.readAllLines(cgroup.resolve("cgroup.procs")).stream()
        .filter(l -> !l.isBlank())
        .map(l -> Long.parseLong(l.strip()))
        .toList();
  }

  static void killAll(Path cgroup) throws IOException {
    for (long pid : procs(cgroup)) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  static boolean rmdir(Path cgroup) {
    try {
      Files.deleteIfExists(cgroup);
      return true;
    } catch (IOException e) {
      return false; // busy until its processes have exited
    }
  }
}
