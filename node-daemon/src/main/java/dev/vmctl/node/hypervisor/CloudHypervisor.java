package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.Json;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.cgroup.VmCgroup;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * cloud-hypervisor, one process per VM started with {@code --api-socket}, driven over its REST API
 * on that Unix socket. The VM config is built exactly as the OpenAPI spec defines VmConfig (see
 * docs/cloud-hypervisor-api.md). The process runs in its own session, so it outlives the node
 * daemon, and in the VM's cgroup ({@link VmCgroup}), so it is not charged to the daemon's;
 * "running" is measured through the API itself ({@code vmm.ping}, {@code vm.info}).
 */
public final class CloudHypervisor implements Hypervisor {
  static final String API = "/api/v1/";
  public static final Duration DEFAULT_API_TIMEOUT = Duration.ofSeconds(5);
  static final Duration SNAPSHOT_TIMEOUT = Duration.ofMinutes(10);
  private final Commands commands;
  private final String binary;
  private final Path kernelDir;
  private final String netns;
  private final Duration apiTimeout;
  private final VmCgroup cgroup;

  /** One client (one kept-alive connection) per VMM, by API socket. */
  private final Map<Path, UnixHttp> clients = new ConcurrentHashMap<>();

  public CloudHypervisor(Commands commands, String binary, Path kernelDir, String netns) {
    this(commands, binary, kernelDir, netns, DEFAULT_API_TIMEOUT);
  }

  /**
   * @param apiTimeout deadline for connecting to the API socket and for each call (vm.snapshot,
   *     which writes the guest's memory, gets {@link #SNAPSHOT_TIMEOUT})
   */
  public CloudHypervisor(
      Commands commands, String binary, Path kernelDir, String netns, Duration apiTimeout) {
    this(commands, binary, kernelDir, netns, apiTimeout, VmCgroup.NONE);
  }

  /**
   * @param cgroup where each VMM runs: made and limited before the launch, joined by the launch
   *     script before it execs the binary, removed by {@link #stop}
   */
  public CloudHypervisor(
      Commands commands,
      String binary,
      Path kernelDir,
      String netns,
      Duration apiTimeout,
      VmCgroup cgroup) {
    this.cgroup = cgroup;
    this.apiTimeout = apiTimeout;
    this.commands = commands;
    this.binary = binary;
    this.kernelDir = kernelDir;
    this.netns = netns;
  }

  @Override
  public String kind() {
    return "cloud-hypervisor";
  }

  @Override
  public String version() {
    try {
      // "cloud-hypervisor v53.0-...\nMigration Protocol Versions: ...": the first line's version.
      String first = commands.must(binary, "--version").strip().lines().findFirst().orElse("");
      return first.replaceFirst("^cloud-hypervisor\\s+", "").strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public boolean kvm() {
    return true; // cloud-hypervisor requires KVM (or MSHV)
  }

  /** The VmConfig for a plan, as cloud-hypervisor's OpenAPI spec defines it. */
  public Map<String, Object> vmConfig(VmPlan plan, String rootVolume, String dataVolume) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("cpus", Map.of("boot_vcpus", plan.cpus(), "max_vcpus", plan.maxCpus()));
    Map<String, Object> memory = new LinkedHashMap<>();
    memory.put("size", plan.memoryBytes());
    if (plan.maxMemoryBytes() > plan.memoryBytes()) {
      memory.put("hotplug_method", "VirtioMem");
      memory.put("hotplug_size", plan.maxMemoryBytes() - plan.memoryBytes());
    }
    memory.put("shared", false);
    config.put("memory", memory);
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("kernel", kernelDir.resolve("vmlinux").toString());
    Path initramfs = kernelDir.resolve("initramfs.cpio.gz");
    if (Files.exists(initramfs)) {
      payload.put("initramfs", initramfs.toString());
    }
    payload.put("cmdline", "console=ttyS0 root=/dev/vda rw panic=-1 quiet");
    config.put("payload", payload);
    config.put("disks", List.of(disk(rootVolume, "root"), disk(dataVolume, "data")));
    config.put("net", List.of(Map.of("tap", plan.tap(), "mac", plan.mac(), "id", "net0")));
    config.put("rng", Map.of("src", "/dev/urandom"));
    config.put(
        "vsock",
        Map.of("cid", plan.vsockCid(), "socket", plan.vsockSocket().toString(), "id", "vsock0"));
    config.put("serial", Map.of("mode", "File", "file", plan.consoleLog().toString()));
    config.put("console", Map.of("mode", "Off"));
    return config;
  }

  private UnixHttp client(VmPlan plan) {
    return clients.computeIfAbsent(plan.apiSocket(), s -> new NettyUnixHttp(s, apiTimeout));
  }

  private UnixHttp.Response call(
      VmPlan plan, String method, String action, Object body, Duration timeout) throws IOException {
    return client(plan)
        .request(method, API + action, body == null ? null : Json.write(body), timeout);
  }

  private UnixHttp.Response call(VmPlan plan, String method, String action, Object body)
      throws IOException {
    return call(plan, method, action, body, apiTimeout);
  }

  private void must(VmPlan plan, String method, String action, Object body, Duration timeout)
      throws IOException {
    UnixHttp.Response r = call(plan, method, action, body, timeout);
    if (!r.ok()) {
      throw new IOException(
          "cloud-hypervisor " + action + " failed (" + r.status() + "): " + r.body().strip());
    }
  }

  private void must(VmPlan plan, String method, String action, Object body) throws IOException {
    must(plan, method, action, body, apiTimeout);
  }

  /** What a {@code vmm.ping} on the API socket found. */
  enum Vmm {
    /** No socket, or nothing listening on it: no VMM process. */
    GONE,
    /** Answered the ping. */
    ANSWERING,
    /**
     * A process listens but did not answer the ping: 503 (micro-http's limit of 10 connections),
     * another status, no answer within the deadline, or the connection closed without one. It is
     * alive: never launch a second VMM over it.
     */
    BUSY
  }

  Vmm probe(VmPlan plan) {
    try {
      return call(plan, "GET", "vmm.ping", null).ok() ? Vmm.ANSWERING : Vmm.BUSY;
    } catch (ConnectException e) {
      return Vmm.GONE;
    } catch (IOException e) {
      return Files.exists(plan.apiSocket()) ? Vmm.BUSY : Vmm.GONE;
    }
  }

  /** VM state from vm.info: Created, Running, Paused, Shutdown; null when no VM is defined. */
  String state(VmPlan plan) throws IOException {
    Map<String, Object> info = info(plan);
    return info == null ? null : (String) info.get("state");
  }

  /** The vm.info body, or null when no VM is defined (404 on v53+, 500 on v48). */
  private Map<String, Object> info(VmPlan plan) throws IOException {
    UnixHttp.Response r = call(plan, "GET", "vm.info", null);
    if (r.status() == 503) {
      throw new IOException("cloud-hypervisor vm.info refused (503): " + r.body().strip());
    }
    return r.ok() ? Json.parseObject(r.body()) : null;
  }

  /**
   * True while the VM runs or is paused, and also while the VMM process is alive but cannot be
   * asked (busy or not answering in time): "not running" would make {@link #start} launch a second
   * VMM over a live one.
   */
  @Override
  public boolean isRunning(VmPlan plan) {
    return switch (probe(plan)) {
      case GONE -> false;
      case BUSY -> true;
      case ANSWERING -> {
        try {
          String state = state(plan);
          yield "Running".equals(state) || "Paused".equals(state);
        } catch (IOException e) {
          yield Files.exists(plan.apiSocket()); // alive, its answer lost: like BUSY
        }
      }
    };
  }

  @Override
  public void start(VmPlan plan, String rootVolume, String dataVolume) throws IOException {
    Vmm vmm = probe(plan);
    if (vmm == Vmm.BUSY) {
      throw new IOException(
          "cloud-hypervisor on "
              + plan.apiSocket()
              + " is alive but does not answer; not launching a second one");
    }
    if (vmm == Vmm.GONE) {
      launch(plan);
    }
    String state = state(plan);
    if (state == null) {
      // vm.create already opens the serial file: its directory must exist.
      Files.createDirectories(plan.consoleLog().toAbsolutePath().getParent());
      must(plan, "PUT", "vm.create", vmConfig(plan, rootVolume, dataVolume));
      state = "Created";
    } else if ("Shutdown".equals(state)) {
      // A shut-down VM keeps its definition; booting it again is a fresh boot.
      state = "Created";
    }
    if ("Created".equals(state)) {
      // No VM runs in this VMM, so no vsock device holds the socket: a file there is a killed
      // VMM's leftover, and binding to it would fail vm.boot with EADDRINUSE.
      Files.deleteIfExists(plan.vsockSocket());
      must(plan, "PUT", "vm.boot", null);
    }
  }

  private void launch(VmPlan plan) throws IOException {
    Files.createDirectories(plan.dir());
    dropClient(plan);
    // Left by a killed VMM: a stale vsock socket fails vm.boot with EADDRINUSE; the main branch
    // leaves api.sock.lock beside the API socket. Nothing listens on them (probe said GONE).
    Files.deleteIfExists(plan.apiSocket());
    Files.deleteIfExists(lockFile(plan));
    Files.deleteIfExists(plan.vsockSocket());
    cgroup.apply(plan);
    // The shell writes its pid, sends its output to the log (a failed cgroup join says why there),
    // joins the VM's cgroup and only then becomes the VMM: it never runs in the daemon's cgroup.
    String script =
        "echo $$ > '"
            + plan.dir().resolve("cloud-hypervisor.pid")
            + "'; exec >>'"
            + plan.dir().resolve("cloud-hypervisor.log")
            + "' 2>&1 </dev/null; "
            + cgroup.joinCommand(plan)
            + "exec "
            + (netns == null || netns.isBlank() ? "" : "ip netns exec " + netns + " ")
            + "'"
            + binary
            + "' --api-socket path="
            + plan.apiSocket();
    commands.must("setsid", "-f", "sh", "-c", script);
    Instant deadline = Instant.now().plusSeconds(10);
    while (probe(plan) != Vmm.ANSWERING) {
      if (exited(plan)) {
        // e.g. without a usable /dev/kvm it exits with status 1 before creating its socket
        throw new IOException("cloud-hypervisor exited before answering" + logTail(plan));
      }
      if (Instant.now().isAfter(deadline)) {
        throw new IOException(
            "cloud-hypervisor did not answer on " + plan.apiSocket() + logTail(plan));
      }
      sleep(20);
    }
    Optional<Long> pid = launchedPid(plan);
    if (pid.isPresent()) {
      cgroup.verify(plan, List.of(pid.get()));
    }
  }

  private static Optional<Long> launchedPid(VmPlan plan) {
    try {
      return Optional.of(
          Long.parseLong(Files.readString(plan.dir().resolve("cloud-hypervisor.pid")).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** True when the launched process wrote its pid file and is no longer alive. */
  private static boolean exited(VmPlan plan) {
    try {
      String pid = Files.readString(plan.dir().resolve("cloud-hypervisor.pid")).trim();
      return !pid.isEmpty() && !Files.exists(Path.of("/proc", pid));
    } catch (IOException e) {
      return false; // not written yet
    }
  }

  private static Path lockFile(VmPlan plan) {
    return plan.apiSocket().resolveSibling(plan.apiSocket().getFileName() + ".lock");
  }

  /** The last line of the VMM's log (why it exited, e.g. no usable /dev/kvm), or "". */
  private static String logTail(VmPlan plan) {
    try {
      List<String> lines = Files.readAllLines(plan.dir().resolve("cloud-hypervisor.log"));
      return lines.isEmpty() ? "" : ": " + lines.get(lines.size() - 1).strip();
    } catch (IOException e) {
      return "";
    }
  }

  private void dropClient(VmPlan plan) {
    UnixHttp old = clients.remove(plan.apiSocket());
    if (old != null) {
      old.close();
    }
  }

  /**
   * Waits up to {@code grace} for the VMM to go (a guest that powers off makes cloud-hypervisor
   * exit and remove its socket: that is a stopped VM, not an error), then shuts the VM and the VMM
   * down through the API, and kills the process if it is still there after 5 s.
   */
  @Override
  public void stop(VmPlan plan, Duration grace) throws IOException {
    Path pidFile = plan.dir().resolve("cloud-hypervisor.pid");
    try {
      if (probe(plan) != Vmm.GONE) {
        Instant deadline = Instant.now().plus(grace);
        while (isRunning(plan) && Instant.now().isBefore(deadline)) {
          sleep(100);
        }
        shutdownThroughApi(plan);
        Instant hard = Instant.now().plusSeconds(5);
        while (probe(plan) != Vmm.GONE && Instant.now().isBefore(hard)) {
          sleep(50);
        }
        if (probe(plan) != Vmm.GONE && Files.exists(pidFile)) {
          commands.run(List.of("kill", "-9", Files.readString(pidFile).trim()));
        }
      }
      // A VMM launched just before the daemon died may not listen yet: its API says GONE, yet
      // the process lives and would be orphaned. The pid file and its command line tell.
      killLaunchedVmm(plan, pidFile);
    } finally {
      dropClient(plan);
    }
    Files.deleteIfExists(pidFile);
    Files.deleteIfExists(plan.apiSocket());
    Files.deleteIfExists(lockFile(plan));
    cgroup.remove(plan); // the VMM is gone: its cgroup is empty
  }

  /** SIGKILL for the process in the pid file when its command line is this VM's VMM. */
  static void killLaunchedVmm(VmPlan plan, Path pidFile) throws IOException {
    if (!Files.exists(pidFile)) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readString(pidFile).trim());
    } catch (NumberFormatException e) {
      return;
    }
    String marker = "path=" + plan.apiSocket();
    ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(
            p ->
                p.info().arguments().map(a -> String.join(" ", a).contains(marker)).orElse(false)
                    || p.info().commandLine().map(c -> c.contains(marker)).orElse(false))
        .ifPresent(ProcessHandle::destroyForcibly);
  }

  /** vm.shutdown (if the VM still runs) then vmm.shutdown; a VMM that is gone meanwhile is fine. */
  private void shutdownThroughApi(VmPlan plan) {
    try {
      String state = state(plan);
      if ("Running".equals(state) || "Paused".equals(state)) {
        call(plan, "PUT", "vm.shutdown", null);
      }
      call(plan, "PUT", "vmm.shutdown", null);
    } catch (IOException e) {
      // gone (powered off meanwhile), or hung: the wait and kill below settle it
    }
  }

  @Override
  public void pause(VmPlan plan) throws IOException {
    must(plan, "PUT", "vm.pause", null);
  }

  @Override
  public void resume(VmPlan plan) throws IOException {
    must(plan, "PUT", "vm.resume", null);
  }

  @Override
  public boolean isPaused(VmPlan plan) throws IOException {
    return "Paused".equals(state(plan));
  }

  /**
   * Hot-resizes CPUs and memory within what the VM was booted with; false (a restart is needed)
   * when the plan asks for more vCPUs than its max_vcpus, more memory than its hotplug region, or
   * less memory than it booted with (v53+ refuse that with a 500, v48 ignore it with a 204).
   */
  @Override
  public boolean resize(VmPlan plan) throws IOException {
    Map<String, Object> info = info(plan);
    if (info == null) {
      throw new IOException("cloud-hypervisor vm.resize: no VM on " + plan.apiSocket());
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> config = (Map<String, Object>) info.get("config");
    @SuppressWarnings("unchecked")
    Map<String, Object> cpus = (Map<String, Object>) config.get("cpus");
    @SuppressWarnings("unchecked")
    Map<String, Object> memory = (Map<String, Object>) config.get("memory");
    long maxVcpus = ((Number) cpus.get("max_vcpus")).longValue();
    long bootRam = ((Number) memory.get("size")).longValue();
    long hotplug =
        memory.get("hotplug_size") instanceof Number n
                && "VirtioMem".equals(memory.get("hotplug_method"))
            ? n.longValue()
            : 0;
    if (plan.cpus() > maxVcpus
        || plan.memoryBytes() < bootRam
        || plan.memoryBytes() > bootRam + hotplug) {
      return false;
    }
    UnixHttp.Response r =
        call(
            plan,
            "PUT",
            "vm.resize",
            Map.of("desired_vcpus", plan.cpus(), "desired_ram", plan.memoryBytes()));
    if (r.status() == 500 && r.body().contains("below boot size")) {
      return false;
    }
    if (!r.ok()) {
      throw new IOException(
          "cloud-hypervisor vm.resize failed (" + r.status() + "): " + r.body().strip());
    }
    cgroup.apply(plan); // the CPU weight follows the vCPUs
    return true;
  }

  /** Writes a snapshot of a paused VM to a directory (vm.snapshot). */
  public void snapshot(VmPlan plan, Path destination) throws IOException {
    Files.createDirectories(destination); // cloud-hypervisor writes into an existing directory
    must(
        plan,
        "PUT",
        "vm.snapshot",
        Map.of("destination_url", "file://" + destination),
        SNAPSHOT_TIMEOUT); // writes all guest memory
  }

  /** Reboots the guest in place (vm.reboot). */
  public void reboot(VmPlan plan) throws IOException {
    must(plan, "PUT", "vm.reboot", null);
  }

  /** A raw disk; without image_type v51+ autodetect it, disable sector-0 writes and warn. */
  private static Map<String, Object> disk(String path, String id) {
    Map<String, Object> disk = new LinkedHashMap<>();
    disk.put("path", path);
    disk.put("id", id);
    disk.put("image_type", "Raw");
    return disk;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
