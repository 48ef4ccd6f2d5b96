package dev.vmctl.node.hypervisor;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.cgroup.VmCgroup;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * QEMU {@code -M microvm} with QMP on a Unix socket; KVM when configured, software emulation
 * otherwise. vsock goes through vhost-device-vsock (one per VM), whose Unix socket speaks the same
 * {@code CONNECT <port>} protocol as cloud-hypervisor. Both processes are daemonised in their own
 * session and run in the VM's cgroup ({@link VmCgroup}), so they outlive the node daemon, are not
 * charged to its cgroup, and are re-adopted by pid file.
 */
public final class QemuHypervisor implements Hypervisor {
  private final Commands commands;
  private final String qemu;
  private final String vhostVsock;
  private final Path kernelDir;
  private final String netns;
  private final boolean kvm;
  private final Duration qmpTimeout;
  private final VmCgroup cgroup;

  /** MiB of translated code software emulation caches (QEMU's default is 1024). */
  static final int TCG_TB_MIB = 256;

  public QemuHypervisor(
      Commands commands,
      String qemu,
      String vhostVsock,
      Path kernelDir,
      String netns,
      boolean kvm) {
    this(commands, qemu, vhostVsock, kernelDir, netns, kvm, CloudHypervisor.DEFAULT_API_TIMEOUT);
  }

  /**
   * @param qmpTimeout deadline for each QMP command, connect included
   */
  public QemuHypervisor(
      Commands commands,
      String qemu,
      String vhostVsock,
      Path kernelDir,
      String netns,
      boolean kvm,
      Duration qmpTimeout) {
    this(commands, qemu, vhostVsock, kernelDir, netns, kvm, qmpTimeout, VmCgroup.NONE);
  }

  /**
   * @param cgroup where QEMU and vhost-device-vsock run: made and limited before they start, joined
   *     by their launch scripts before they exec, removed by {@link #stop}
   */
  public QemuHypervisor(
      Commands commands,
      String qemu,
      String vhostVsock,
      Path kernelDir,
      String netns,
      boolean kvm,
      Duration qmpTimeout,
      VmCgroup cgroup) {
    this.cgroup = cgroup;
    this.qmpTimeout = qmpTimeout;
    this.commands = commands;
    this.qemu = qemu;
    this.vhostVsock = vhostVsock;
    this.kernelDir = kernelDir;
    this.netns = netns;
    this.kvm = kvm;
  }

  @Override
  public String kind() {
    return "qemu";
  }

  @Override
  public String version() {
    try {
      String out = commands.must(qemu, "--version");
      return out.lines().findFirst().orElse("").replaceAll(".*version ([^ ]+).*", "$1");
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public boolean kvm() {
    return kvm;
  }

  static Optional<Long> pidIfAlive(Path pidFile, String marker) {
    try {
      long pid = Long.parseLong(Files.readString(pidFile).trim());
      Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
      if (Files.exists(cmdline) && Files.readString(cmdline).contains(marker)) {
        return Optional.of(pid);
      }
    } catch (IOException | NumberFormatException e) {
      // no pid file or no such process
    }
    return Optional.empty();
  }

  private static String marker(VmPlan plan) {
    return "vmctl-" + plan.id();
  }

  @Override
  public boolean isRunning(VmPlan plan) {
    return pidIfAlive(plan.dir().resolve("qemu.pid"), marker(plan)).isPresent();
  }

  @Override
  public void start(VmPlan plan, String rootVolume, String dataVolume) throws IOException {
    Path dir = plan.dir();
    cgroup.apply(plan);
    ensureVsockDevice(plan);
    List<String> argv = new ArrayList<>();
    argv.addAll(
        List.of(
            qemu,
            "-name",
            marker(plan),
            "-daemonize",
            "-pidfile",
            dir.resolve("qemu.pid").toString(),
            "-qmp",
            "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off",
            "-M",
            "microvm,rtc=on,memory-backend=mem",
            // Software emulation's translation cache would grow to 1 GiB by default: capped, the
            // VM's memory overhead stays inside its cgroup's limit (docs/node-daemon.md).
            "-accel",
            kvm ? "kvm" : "tcg,tb-size=" + TCG_TB_MIB,
            "-cpu",
            kvm ? "host" : "max",
            "-smp",
            "cpus=" + plan.cpus() + ",maxcpus=" + plan.maxCpus(),
            "-m",
            (plan.memoryBytes() >> 20) + "M",
            "-object",
            "memory-backend-memfd,id=mem,size=" + (plan.memoryBytes() >> 20) + "M,share=on",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            "file:" + plan.consoleLog(),
            "-kernel",
            kernelDir.resolve("vmlinux").toString(),
            "-initrd",
            kernelDir.resolve("initramfs.cpio.gz").toString(),
            "-append",
            "console=ttyS0 root=/dev/vda rw panic=-1 quiet" + (kvm ? "" : " tsc_early_khz=2600000"),
            "-drive",
            "id=root,file=" + rootVolume + ",format=raw,if=none,discard=unmap",
            "-device",
            "virtio-blk-device,drive=root",
            "-drive",
            "id=data,file=" + dataVolume + ",format=raw,if=none,discard=unmap",
            "-device",
            "virtio-blk-device,drive=data",
            "-netdev",
            "tap,id=net0,ifname=" + plan.tap() + ",script=no,downscript=no,vhost=off",
            "-device",
            "virtio-net-device,netdev=net0,mac=" + plan.mac(),
            "-chardev",
            "socket,id=vsock,path=" + dir.resolve("vhost.sock"),
            "-device",
            "vhost-user-vsock-device,chardev=vsock",
            "-device",
            "virtio-rng-device"));
    // A shell joins the VM's cgroup, then becomes QEMU (which daemonises from there). It joins
    // before `ip netns exec`, which mounts a sysfs of the namespace's own: no cgroupfs in there.
    List<String> joined =
        new ArrayList<>(List.of("sh", "-c", cgroup.joinCommand(plan) + "exec \"$@\"", "sh"));
    joined.addAll(Commands.inNetns(netns, argv));
    Commands.Result r = commands.run(joined);
    if (!r.ok()) {
      throw new IOException("qemu failed to start: " + r.stderr().strip());
    }
    List<Long> pids = new ArrayList<>();
    pidIfAlive(dir.resolve("qemu.pid"), marker(plan)).ifPresent(pids::add);
    pidIfAlive(dir.resolve("vhost.pid"), dir.resolve("vhost.sock").toString()).ifPresent(pids::add);
    cgroup.verify(plan, pids);
  }

  /** vhost-device-vsock for this VM, detached in its own session, adopted if already running. */
  private void ensureVsockDevice(VmPlan plan) throws IOException {
    Path dir = plan.dir();
    Path socket = dir.resolve("vhost.sock");
    if (pidIfAlive(dir.resolve("vhost.pid"), socket.toString()).isPresent()) {
      return;
    }
    Files.deleteIfExists(socket);
    Files.deleteIfExists(plan.vsockSocket());
    String script =
        "echo $$ > '"
            + dir.resolve("vhost.pid")
            + "'; exec >>'"
            + dir.resolve("vhost.log")
            + "' 2>&1 </dev/null; "
            + cgroup.joinCommand(plan)
            + "exec '"
            + vhostVsock
            + "' --vm guest-cid="
            + plan.vsockCid()
            + ",socket="
            + socket
            + ",uds-path="
            + plan.vsockSocket();
    commands.must("setsid", "-f", "sh", "-c", script);
    Instant deadline = Instant.now().plusSeconds(10);
    while (!Files.exists(socket)) {
      if (Instant.now().isAfter(deadline)) {
        throw new IOException("vhost-device-vsock did not create " + socket + logTail(dir));
      }
      sleep(20);
    }
  }

  @Override
  public void stop(VmPlan plan, Duration grace) throws IOException {
    Path dir = plan.dir();
    Optional<Long> pid = pidIfAlive(dir.resolve("qemu.pid"), marker(plan));
    Instant deadline = Instant.now().plus(grace);
    while (pid.isPresent() && isRunning(plan) && Instant.now().isBefore(deadline)) {
      sleep(100);
    }
    if (isRunning(plan)) {
      try {
        Qmp.execute(dir.resolve("qmp.sock"), "quit", qmpTimeout);
      } catch (IOException e) {
        commands.run(List.of("kill", "-9", Long.toString(pid.get())));
      }
      Instant hard = Instant.now().plusSeconds(5);
      while (isRunning(plan) && Instant.now().isBefore(hard)) {
        sleep(50);
      }
      if (isRunning(plan)) {
        commands.run(List.of("kill", "-9", Long.toString(pid.get())));
      }
    }
    Optional<Long> vhost =
        pidIfAlive(dir.resolve("vhost.pid"), dir.resolve("vhost.sock").toString());
    if (vhost.isPresent()) {
      commands.run(List.of("kill", Long.toString(vhost.get())));
    }
    for (String f : List.of("qemu.pid", "vhost.pid", "qmp.sock", "vhost.sock", "vsock.sock")) {
      Files.deleteIfExists(dir.resolve(f));
    }
    cgroup.remove(plan); // waits for both processes to be gone
  }

  /** The last line of vhost-device-vsock's log (e.g. why joining the VM's cgroup failed), or "". */
  private static String logTail(Path dir) {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("vhost.log"));
      return lines.isEmpty() ? "" : ": " + lines.get(lines.size() - 1).strip();
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void pause(VmPlan plan) throws IOException {
    Qmp.execute(plan.dir().resolve("qmp.sock"), "stop", qmpTimeout);
  }

  @Override
  public void resume(VmPlan plan) throws IOException {
    Qmp.execute(plan.dir().resolve("qmp.sock"), "cont", qmpTimeout);
  }

  @Override
  public boolean isPaused(VmPlan plan) throws IOException {
    Map<String, Object> r = Qmp.execute(plan.dir().resolve("qmp.sock"), "query-status", qmpTimeout);
    @SuppressWarnings("unchecked")
    Map<String, Object> ret = (Map<String, Object>) r.get("return");
    return "paused".equals(ret.get("status"));
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
