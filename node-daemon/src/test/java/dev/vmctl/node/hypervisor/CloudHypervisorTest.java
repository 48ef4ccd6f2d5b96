package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.agent.Json;
import dev.vmctl.node.fakes.RecordingVmCgroup;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.hypervisor.CloudHypervisorEmulator.Options;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cloud-hypervisor driver against {@link CloudHypervisorEmulator}, which behaves like the real
 * binary (keep-alive 204s that never close, 10 connections, v48 and v53+ status codes). A hang is a
 * failure: every test is bounded.
 */
@Timeout(60)
class CloudHypervisorTest {
  @TempDir Path dir;
  final List<CloudHypervisorEmulator> vmms = new CopyOnWriteArrayList<>();
  final List<AutoCloseable> closeables = new ArrayList<>();

  /** The VMM process of the latest launch. */
  CloudHypervisorEmulator vmm() {
    return vmms.get(vmms.size() - 1);
  }

  /**
   * The fake binary: {@code --version} prints what the real one prints, {@code setsid ...
   * --api-socket path=...} starts an emulator on that socket, {@code kill -9} kills it (leaving its
   * files).
   */
  final class LaunchingCommands implements Commands {
    final Options options;
    final List<List<String>> commands = new CopyOnWriteArrayList<>();

    /** For each launch: which stale files were still there when the binary started. */
    final List<List<String>> leftoversAtLaunch = new CopyOnWriteArrayList<>();

    LaunchingCommands(Options options) {
      this.options = options;
    }

    @Override
    public Result run(List<String> argv) throws IOException {
      commands.add(argv);
      if (argv.contains("--version")) {
        return new Result(0, options.versionOutput(), "");
      }
      if (argv.get(0).equals("setsid")) {
        Matcher m = Pattern.compile("--api-socket path=(\\S+)").matcher(argv.get(argv.size() - 1));
        assertThat(m.find()).as("api socket in " + argv).isTrue();
        Path socket = Path.of(m.group(1));
        leftoversAtLaunch.add(
            Stream.of("api.sock.lock", "vsock.sock")
                .filter(f -> Files.exists(socket.resolveSibling(f)))
                .toList());
        vmms.add(new CloudHypervisorEmulator(socket, options));
        return new Result(0, "", "");
      }
      if (argv.get(0).equals("kill")) {
        vmm().kill();
      }
      return new Result(0, "", "");
    }

    long launches() {
      return commands.stream().filter(c -> c.get(0).equals("setsid")).count();
    }

    long kills() {
      return commands.stream().filter(c -> c.get(0).equals("kill")).count();
    }
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    for (CloudHypervisorEmulator vmm : vmms) {
      vmm.close();
    }
  }

  VmPlan plan(long cpus, long maxCpus, long memMi, long maxMemMi) {
    return new VmPlan(
        "0123456789ab",
        "web",
        "ada",
        dir.resolve("vm"),
        "debian-12",
        cpus,
        maxCpus,
        memMi << 20,
        maxMemMi << 20,
        10L << 30,
        "vt0123456789ab",
        "52:54:00:12:34:56",
        "10.100.0.2",
        "10.100.0.1",
        24,
        3);
  }

  /** The host paths vm.boot opens: an ELF kernel and two disk files. */
  String[] volumes() throws IOException {
    Files.createDirectories(dir.resolve("kernel"));
    Files.write(dir.resolve("kernel/vmlinux"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
    Files.writeString(dir.resolve("kernel/initramfs.cpio.gz"), "x");
    Files.writeString(dir.resolve("root.img"), "");
    Files.writeString(dir.resolve("data.img"), "");
    return new String[] {dir.resolve("root.img").toString(), dir.resolve("data.img").toString()};
  }

  CloudHypervisor driver(Commands commands) {
    return new CloudHypervisor(
        commands, "cloud-hypervisor", dir.resolve("kernel"), null, Duration.ofSeconds(2));
  }

  List<String> paths(int from) {
    List<CloudHypervisorEmulator.Request> all = new ArrayList<>();
    for (CloudHypervisorEmulator vmm : vmms) {
      all.addAll(vmm.requests());
    }
    return all.subList(from, all.size()).stream()
        .map(r -> r.method() + " " + r.path().substring("/api/v1/".length()))
        .filter(p -> !p.endsWith("vmm.ping") && !p.endsWith("vm.info"))
        .toList();
  }

  static Stream<Options> versions() {
    return Stream.of(Options.v48(), Options.upstream());
  }

  @ParameterizedTest
  @MethodSource("versions")
  void launchesCreatesAndBootsWithASpecValidConfig(Options options) throws IOException {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(options);
    CloudHypervisor ch = driver(commands);
    VmPlan plan = plan(2, 4, 1024, 4096);
    assertThat(ch.isRunning(plan)).isFalse();
    ch.start(plan, volumes[0], volumes[1]);

    assertThat(vmm().state()).isEqualTo("Running");
    assertThat(paths(0)).containsExactly("PUT vm.create", "PUT vm.boot");
    Map<String, Object> cfg = vmm().config();
    assertThat(cfg.get("cpus")).isEqualTo(Map.of("boot_vcpus", 2L, "max_vcpus", 4L));
    assertThat(cfg.get("memory"))
        .isEqualTo(
            Map.of(
                "size",
                1L << 30,
                "hotplug_method",
                "VirtioMem",
                "hotplug_size",
                3L << 30,
                "shared",
                false));
    assertThat(cfg.get("vsock"))
        .isEqualTo(Map.of("cid", 3L, "socket", plan.vsockSocket().toString(), "id", "vsock0"));
    assertThat(cfg.get("net"))
        .isEqualTo(
            List.of(Map.of("tap", "vt0123456789ab", "mac", "52:54:00:12:34:56", "id", "net0")));
    assertThat(vmm().ignoredFields()).isEmpty();
    assertThat(ch.isRunning(plan)).isTrue();

    // Idempotent: starting again against a running VM changes nothing.
    int before = vmm().requests().size();
    ch.start(plan, volumes[0], volumes[1]);
    assertThat(paths(before)).isEmpty();
    // One kept-alive connection served all of it.
    assertThat(vmm().acceptedConnections()).isEqualTo(1);
  }

  @Test
  void disksAreSentWithImageTypeRaw() throws IOException {
    String[] volumes = volumes();
    CloudHypervisor ch = driver(new LaunchingCommands(Options.upstream()));
    ch.start(plan(1, 1, 512, 512), volumes[0], volumes[1]);
    assertThat(vmm().config().get("disks"))
        .isEqualTo(
            List.of(
                Map.of("path", volumes[0], "id", "root", "image_type", "Raw"),
                Map.of("path", volumes[1], "id", "data", "image_type", "Raw")));
    assertThat(vmm().log()).noneMatch(l -> l.contains("image_type"));
  }

  @Test
  void versionKeepsOnlyTheVersionFromTheFirstLine() {
    assertThat(driver(new LaunchingCommands(Options.upstream())).version())
        .isEqualTo("v53.0-246-gae44c2971");
    assertThat(driver(new LaunchingCommands(Options.v48())).version()).isEqualTo("v48.0");
  }

  /** The whole life of a VM, in the order a real host sees it, on both supported versions. */
  @Test
  void theVmCgroupIsMadeBeforeTheLaunchJoinedBeforeExecFollowsResizeAndGoesWithStop()
      throws IOException {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    RecordingVmCgroup cgroup = new RecordingVmCgroup();
    CloudHypervisor ch =
        new CloudHypervisor(
            commands,
            "cloud-hypervisor",
            dir.resolve("kernel"),
            null,
            Duration.ofSeconds(2),
            cgroup);
    VmPlan plan = plan(1, 4, 512, 2048);

    ch.start(plan, volumes[0], volumes[1]);
    String script = commands.commands.get(commands.commands.size() - 1).get(4);
    assertThat(script.indexOf(RecordingVmCgroup.JOIN))
        .as("joins in the launch shell, before it becomes the VMM: " + script)
        .isPositive()
        .isLessThan(script.indexOf("exec 'cloud-hypervisor'"));
    assertThat(ch.resize(plan(3, 4, 1024, 2048))).isTrue();
    ch.stop(plan, Duration.ZERO);

    assertThat(cgroup.calls).containsExactly("apply 1 cpus", "apply 3 cpus", "remove");
  }

  @ParameterizedTest
  @MethodSource("versions")
  void startPauseResumeResizeRebootSnapshotStopStart(Options options) throws IOException {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(options);
    CloudHypervisor ch = driver(commands);
    VmPlan plan = plan(1, 4, 512, 2048);
    ch.start(plan, volumes[0], volumes[1]);
    ch.pause(plan);
    assertThat(ch.isPaused(plan)).isTrue();
    assertThat(ch.isRunning(plan)).isTrue();
    ch.resume(plan);
    assertThat(ch.isPaused(plan)).isFalse();
    assertThat(ch.resize(plan(3, 4, 1024, 2048))).isTrue();
    assertThat(Json.parseObject(vmm().requests().get(vmm().requests().size() - 1).body()))
        .isEqualTo(Map.of("desired_vcpus", 3L, "desired_ram", 1024L << 20));
    ch.reboot(plan);
    assertThat(vmm().state()).isEqualTo("Running");
    ch.pause(plan);
    ch.snapshot(plan, dir.resolve("snap"));
    assertThat(dir.resolve("snap/state.json")).exists();
    ch.resume(plan);
    ch.stop(plan, Duration.ZERO);
    assertThat(ch.isRunning(plan)).isFalse();
    assertThat(plan.apiSocket()).doesNotExist();
    assertThat(vmm().isStopped()).isTrue();
    ch.start(plan, volumes[0], volumes[1]);
    assertThat(vmm().state()).isEqualTo("Running");

    assertThat(paths(0))
        .containsExactly(
            "PUT vm.create",
            "PUT vm.boot",
            "PUT vm.pause",
            "PUT vm.resume",
            "PUT vm.resize",
            "PUT vm.reboot",
            "PUT vm.pause",
            "PUT vm.snapshot",
            "PUT vm.resume",
            "PUT vm.shutdown",
            "PUT vmm.shutdown",
            "PUT vm.create",
            "PUT vm.boot");
    assertThat(commands.launches()).isEqualTo(2);
    assertThat(commands.kills()).isZero();
    // One connection per VMM process, reused for every call.
    assertThat(vmms).allSatisfy(v -> assertThat(v.acceptedConnections()).isEqualTo(1));
  }

  @Test
  void stopTreatsAVmmThatExitsDuringTheGraceAsStopped() throws Exception {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    CloudHypervisor ch = driver(commands);
    VmPlan plan = plan(1, 1, 512, 512);
    ch.start(plan, volumes[0], volumes[1]);
    CloudHypervisorEmulator vmm = vmm();
    // The agent asked the guest to power off; it does so while stop() waits.
    Thread powerOff =
        new Thread(
            () -> {
              try {
                Thread.sleep(300);
              } catch (InterruptedException e) {
                return;
              }
              vmm.guestPowersOff();
            });
    powerOff.start();
    ch.stop(plan, Duration.ofSeconds(30));
    powerOff.join();
    assertThat(vmm.isStopped()).isTrue();
    assertThat(plan.apiSocket()).doesNotExist();
    assertThat(commands.kills()).isZero();
    assertThat(ch.isRunning(plan)).isFalse();
  }

  /**
   * Found by hack/bench-chaos.sh's kind of run: the daemon dies right after launching a VMM that
   * does not listen yet. Its API says nothing is there, but the process lives; stop (cleanup) must
   * end it by its pid file, or it is orphaned.
   */
  @Test
  void stopKillsAVmmThatWasLaunchedButDoesNotListenYet() throws Exception {
    CloudHypervisor ch = driver(new LaunchingCommands(Options.upstream()));
    VmPlan plan = plan(1, 1, 512, 512);
    Files.createDirectories(plan.dir());
    Process notListening =
        new ProcessBuilder(
                "sh",
                "-c",
                "while :; do sleep 1; done",
                "cloud-hypervisor",
                "--api-socket",
                "path=" + plan.apiSocket())
            .start();
    try {
      Files.writeString(plan.dir().resolve("cloud-hypervisor.pid"), notListening.pid() + "\n");
      assertThat(ch.isRunning(plan)).isFalse();
      ch.stop(plan, Duration.ZERO);
      assertThat(notListening.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    } finally {
      notListening.destroyForcibly();
    }
  }

  @Test
  void stopOfAVmmThatIsAlreadyGoneIsANoOp() throws IOException {
    String[] volumes = volumes();
    CloudHypervisor ch = driver(new LaunchingCommands(Options.upstream()));
    VmPlan plan = plan(1, 1, 512, 512);
    ch.start(plan, volumes[0], volumes[1]);
    vmm().guestPowersOff();
    ch.stop(plan, Duration.ofSeconds(5));
    assertThat(ch.isRunning(plan)).isFalse();
  }

  @Test
  void launchRemovesAStaleVsockSocketAndApiSockLockLeftByAKilledVmm() throws IOException {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    CloudHypervisor ch = driver(commands);
    VmPlan plan = plan(1, 1, 512, 512);
    ch.start(plan, volumes[0], volumes[1]);
    vmm().kill(); // SIGKILL (OOM, a node reboot): everything stays behind
    assertThat(plan.apiSocket()).exists();
    assertThat(plan.vsockSocket()).exists();
    assertThat(plan.apiSocket().resolveSibling("api.sock.lock")).exists();
    assertThat(ch.isRunning(plan)).isFalse(); // nothing listens on the stale socket

    ch.start(plan, volumes[0], volumes[1]);
    assertThat(vmm().state()).isEqualTo("Running");
    assertThat(commands.leftoversAtLaunch).containsExactly(List.of(), List.of());
  }

  @Test
  void resizeBelowBootMemoryReportsThatARestartIsNeeded() throws IOException {
    for (Options options : versions().toList()) {
      String[] volumes = volumes();
      CloudHypervisor ch = driver(new LaunchingCommands(options));
      VmPlan plan = plan(2, 4, 1024, 2048);
      ch.start(plan, volumes[0], volumes[1]);
      // v53+ would answer 500 "below boot size", v48 a 204 that changes nothing: both need a
      // restart, neither is an error.
      assertThat(ch.resize(plan(2, 4, 512, 2048))).as(options.buildVersion()).isFalse();
      assertThat(ch.resize(plan(8, 8, 1024, 2048))).as("beyond max_vcpus").isFalse();
      assertThat(ch.resize(plan(2, 4, 4096, 4096))).as("beyond hotplug_size").isFalse();
      assertThat(vmm().state()).isEqualTo("Running");
      assertThat(vmm().requests()).noneMatch(r -> r.path().endsWith("vm.resize"));
      ch.stop(plan, Duration.ZERO);
    }
  }

  @Test
  void aVmmRefusingConnectionsWith503IsNotMistakenForADeadOne() throws Exception {
    String[] volumes = volumes();
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    VmPlan plan = plan(1, 1, 512, 512);
    driver(commands).start(plan, volumes[0], volumes[1]); // its connection stays open
    // Nine more held connections (a crashed daemon's hung calls, a curl left open): 10 in all.
    for (int i = 1; i < MicroHttp.MAX_CONNECTIONS; i++) {
      RawHttp held = new RawHttp(plan.apiSocket());
      closeables.add(held);
      assertThat(held.exchange("GET", "/api/v1/vmm.ping", null).status()).isEqualTo(200);
    }
    CloudHypervisor restarted = driver(commands); // a new daemon needs a new connection
    assertThat(restarted.isRunning(plan)).isTrue();
    assertThatThrownBy(() -> restarted.start(plan, volumes[0], volumes[1]))
        .hasMessageContaining("alive but does not answer");
    assertThat(commands.launches()).isEqualTo(1);
    assertThat(vmm().state()).isEqualTo("Running");
  }

  @Test
  void aVmmThatAcceptsAndNeverAnswersFailsEachCallWithinTheDeadline() throws Exception {
    VmPlan plan = plan(1, 1, 512, 512);
    Files.createDirectories(plan.dir());
    ServerSocketChannel hung = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    closeables.add(hung);
    hung.bind(UnixDomainSocketAddress.of(plan.apiSocket()));
    List<SocketChannel> accepted = new CopyOnWriteArrayList<>();
    Thread acceptor =
        new Thread(
            () -> {
              try {
                while (true) {
                  accepted.add(hung.accept()); // and never read or answer
                }
              } catch (IOException e) {
                // closed
              }
            });
    acceptor.setDaemon(true);
    acceptor.start();
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    CloudHypervisor ch =
        new CloudHypervisor(
            commands, "cloud-hypervisor", dir.resolve("kernel"), null, Duration.ofMillis(300));
    assertThatThrownBy(() -> ch.pause(plan)).hasMessageContaining("no answer within 300 ms");
    // Alive but hung: not "stopped", and never relaunched over.
    assertThat(ch.isRunning(plan)).isTrue();
    assertThatThrownBy(() -> ch.start(plan, "/r", "/d")).isInstanceOf(IOException.class);
    assertThat(commands.launches()).isZero();
    for (SocketChannel c : accepted) {
      c.close();
    }
  }

  @Test
  void aVmmThatStoppedAcceptingIsAliveEvenWhenItsBacklogIsFull() throws Exception {
    VmPlan plan = plan(1, 1, 512, 512);
    Files.createDirectories(plan.dir());
    ServerSocketChannel stuck = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    closeables.add(stuck);
    stuck.bind(UnixDomainSocketAddress.of(plan.apiSocket()), 1); // never accepts
    LaunchingCommands commands = new LaunchingCommands(Options.upstream());
    CloudHypervisor ch =
        new CloudHypervisor(
            commands, "cloud-hypervisor", dir.resolve("kernel"), null, Duration.ofMillis(200));
    // Each timed-out call leaves a queued connection; once the backlog is full, connect fails
    // with EAGAIN, which is not "nothing listens".
    for (int i = 0; i < 5; i++) {
      assertThat(ch.isRunning(plan)).as("probe " + i).isTrue();
    }
    assertThatThrownBy(() -> ch.start(plan, "/r", "/d")).isInstanceOf(IOException.class);
    assertThat(commands.launches()).isZero();
  }

  @Test
  void reconnectsWhenTheVmmClosedTheConnection() throws IOException {
    String[] volumes = volumes();
    CloudHypervisor ch = driver(new LaunchingCommands(Options.upstream()));
    VmPlan plan = plan(1, 1, 512, 512);
    ch.start(plan, volumes[0], volumes[1]);
    vmm().kill(); // the connection is gone with the process
    CloudHypervisorEmulator replacement = new CloudHypervisorEmulator(plan.apiSocket());
    vmms.add(replacement);
    assertThat(ch.isRunning(plan)).isFalse(); // answers, but no VM is defined
    ch.start(plan, volumes[0], volumes[1]);
    assertThat(replacement.state()).isEqualTo("Running");
  }

  @Test
  void launchFailsAtOnceWithTheReasonWhenTheBinaryExitsBeforeCreatingItsSocket() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    VmPlan plan = plan(1, 1, 512, 512);
    // The real binary on a host without usable KVM: exit status 1, no socket.
    Commands noKvm =
        argv -> {
          if (argv.get(0).equals("setsid")) {
            Files.writeString(plan.dir().resolve("cloud-hypervisor.pid"), gone.pid() + "\n");
            Files.writeString(
                plan.dir().resolve("cloud-hypervisor.log"),
                "Error booting VM: Failed to open hypervisor interface (is hypervisor interface"
                    + " available?): no supported hypervisor\n");
          }
          return new Commands.Result(0, "", "");
        };
    assertThatThrownBy(() -> driver(noKvm).start(plan, "/r", "/d"))
        .hasMessageContaining("exited before answering")
        .hasMessageContaining("no supported hypervisor");
  }

  @Test
  void emulatorRejectsWhatTheSpecRejects() {
    Map<String, Object> ok =
        Map.of(
            "payload", Map.of("kernel", "/k"),
            "cpus", Map.of("boot_vcpus", 1L, "max_vcpus", 1L),
            "vsock", Map.of("cid", 3L, "socket", "/s"));
    CloudHypervisorEmulator.validateVmConfig(ok);
    for (var bad :
        List.<Map<String, Object>>of(
            Map.of("cpus", Map.of("boot_vcpus", 1L, "max_vcpus", 1L)),
            Map.of(
                "payload",
                Map.of("kernel", "/k"),
                "cpus",
                Map.of("boot_vcpus", 2L, "max_vcpus", 1L)),
            Map.of(
                "payload",
                Map.of("kernel", "/k"),
                "cpus",
                Map.of("boot_vcpus", "2", "max_vcpus", 2L)),
            Map.of("payload", Map.of("kernel", "/k"), "vsock", Map.of("cid", 2L, "socket", "/s")),
            Map.of("payload", Map.of("kernel", "/k"), "serial", Map.of("mode", "Logfile")),
            Map.of("payload", Map.of("kernel", "/k"), "net", List.of(Map.of("mac", "zz"))),
            Map.of(
                "payload", Map.of("kernel", "/k"), "memory", Map.of("size", 1L, "hotplug", "yes")),
            Map.of("payload", Map.of("kernel", "/k"), "cpu", Map.of()))) {
      assertThatThrownBy(() -> CloudHypervisorEmulator.validateVmConfig(bad))
          .as(bad.toString())
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
