package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.agent.Json;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cloud-hypervisor driver against an emulation of its REST API on a Unix socket. */
class CloudHypervisorTest {
  @TempDir Path dir;
  CloudHypervisorEmulator vmm;

  /** "Launches" cloud-hypervisor by starting the emulator on the --api-socket path. */
  final class LaunchingCommands implements Commands {
    final List<List<String>> commands = new ArrayList<>();

    @Override
    public Result run(List<String> argv) throws IOException {
      commands.add(argv);
      if (argv.get(0).equals("setsid")) {
        Matcher m = Pattern.compile("--api-socket path=(\\S+)").matcher(argv.get(argv.size() - 1));
        assertThat(m.find()).as("api socket in " + argv).isTrue();
        vmm = new CloudHypervisorEmulator(Path.of(m.group(1)));
      }
      return new Result(0, "cloud-hypervisor v48.0.0\n", "");
    }
  }

  @AfterEach
  void close() throws IOException {
    if (vmm != null) {
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

  @Test
  void launchesCreatesAndBootsWithASpecValidConfig() throws IOException {
    Files.createDirectories(dir.resolve("kernel"));
    Files.writeString(dir.resolve("kernel/initramfs.cpio.gz"), "x");
    LaunchingCommands commands = new LaunchingCommands();
    CloudHypervisor ch =
        new CloudHypervisor(commands, "cloud-hypervisor", dir.resolve("kernel"), null);
    VmPlan plan = plan(2, 4, 1024, 4096);
    assertThat(ch.isRunning(plan)).isFalse();
    ch.start(plan, "/dev/vmctl/vm-0123456789ab-root", "/dev/vmctl/vm-0123456789ab-data");

    assertThat(commands.commands.get(commands.commands.size() - 1).get(0)).isEqualTo("setsid");
    assertThat(vmm.state()).isEqualTo("Running");
    assertThat(vmm.requests())
        .extracting(CloudHypervisorEmulator.Request::path)
        .containsSubsequence("/api/v1/vmm.ping", "/api/v1/vm.create", "/api/v1/vm.boot");
    Map<String, Object> cfg = vmm.config();
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
    assertThat(ch.isRunning(plan)).isTrue();

    // Idempotent: starting again against a running VM changes nothing.
    int before = vmm.requests().size();
    ch.start(plan, "/dev/vmctl/vm-0123456789ab-root", "/dev/vmctl/vm-0123456789ab-data");
    assertThat(vmm.requests().subList(before, vmm.requests().size()))
        .extracting(CloudHypervisorEmulator.Request::path)
        .doesNotContain("/api/v1/vm.create", "/api/v1/vm.boot");
  }

  @Test
  void pauseResumeResizeSnapshotAndStop() throws IOException {
    LaunchingCommands commands = new LaunchingCommands();
    CloudHypervisor ch =
        new CloudHypervisor(commands, "cloud-hypervisor", dir.resolve("kernel"), null);
    VmPlan plan = plan(1, 4, 512, 512);
    ch.start(plan, "/r", "/d");
    ch.pause(plan);
    assertThat(ch.isPaused(plan)).isTrue();
    ch.snapshot(plan, dir.resolve("snap"));
    ch.resume(plan);
    assertThat(ch.isPaused(plan)).isFalse();
    assertThat(ch.resize(plan(3, 4, 512, 512))).isTrue();
    assertThat(Json.parseObject(vmm.requests().get(vmm.requests().size() - 1).body()))
        .isEqualTo(Map.of("desired_vcpus", 3L, "desired_ram", 512L << 20));
    assertThatThrownBy(() -> ch.resize(plan(5, 4, 512, 512)))
        .hasMessageContaining("vm.resize failed (500)");
    ch.stop(plan, Duration.ZERO);
    assertThat(vmm.requests())
        .extracting(CloudHypervisorEmulator.Request::path)
        .containsSubsequence("/api/v1/vm.shutdown", "/api/v1/vmm.shutdown");
    assertThat(ch.isRunning(plan)).isFalse();
    assertThat(plan.apiSocket()).doesNotExist();
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
