package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.node.fakes.RecordingVmCgroup;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's and vhost-device-vsock's launch commands, recorded (the guest tests run them for real).
 */
class QemuHypervisorTest {
  @TempDir Path dir;
  final List<List<String>> commands = new CopyOnWriteArrayList<>();

  /** Records every command; the vhost-device-vsock launch "creates" its socket. */
  final Commands recording =
      argv -> {
        commands.add(argv);
        if (argv.get(0).equals("setsid")) {
          Files.writeString(dir.resolve("vm/vhost.sock"), "");
        }
        return new Commands.Result(0, "", "");
      };

  VmPlan plan() {
    return new VmPlan(
        "0123456789ab",
        "web",
        "ada",
        dir.resolve("vm"),
        "debian-12",
        2,
        2,
        512L << 20,
        512L << 20,
        10L << 30,
        "vt0",
        "52:54:00:12:34:56",
        "10.100.0.2",
        "10.100.0.1",
        24,
        3);
  }

  @Test
  void bothProcessesJoinTheVmCgroupBeforeTheyExecAndStopRemovesIt() throws IOException {
    RecordingVmCgroup cgroup = new RecordingVmCgroup();
    QemuHypervisor qemu =
        new QemuHypervisor(
            recording,
            "qemu-system-x86_64",
            "vhost-device-vsock",
            dir,
            "ns1",
            false,
            Duration.ofSeconds(1),
            cgroup);
    VmPlan plan = plan();
    Files.createDirectories(plan.dir());

    qemu.start(plan, "root.img", "data.img");

    String vhostScript = commands.get(0).get(4);
    assertThat(vhostScript.indexOf(RecordingVmCgroup.JOIN))
        .isPositive()
        .isLessThan(vhostScript.indexOf("exec 'vhost-device-vsock'"));
    List<String> launch = commands.get(1);
    // The shell joins, then execs `ip netns exec`: that mounts a sysfs without the cgroupfs, so
    // joining from inside the namespace would find no cgroup.procs.
    assertThat(launch.subList(0, 9))
        .containsExactly(
            "sh",
            "-c",
            RecordingVmCgroup.JOIN + "exec \"$@\"",
            "sh",
            "ip",
            "netns",
            "exec",
            "ns1",
            "qemu-system-x86_64");
    assertThat(launch).contains("-accel", "tcg,tb-size=" + QemuHypervisor.TCG_TB_MIB);
    qemu.stop(plan, Duration.ZERO);

    assertThat(cgroup.calls).containsExactly("apply 2 cpus", "verify []", "remove");
  }
}
