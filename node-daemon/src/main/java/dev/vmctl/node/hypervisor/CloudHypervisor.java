package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.Json;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * cloud-hypervisor, one process per VM started with {@code --api-socket}, driven over its REST API
 * on that Unix socket. The VM config is built exactly as the OpenAPI spec defines VmConfig (see
 * docs/cloud-hypervisor-api.md). The process runs in its own session, so it outlives the node
 * daemon; "running" is measured through the API itself ({@code vmm.ping}, {@code vm.info}).
 */
public final class CloudHypervisor implements Hypervisor {
  static final String API = "/api/v1/";
  private final Commands commands;
  private final String binary;
  private final Path kernelDir;
  private final String netns;

  public CloudHypervisor(Commands commands, String binary, Path kernelDir, String netns) {
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
      return commands.must(binary, "--version").strip().replace("cloud-hypervisor ", "");
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
    config.put(
        "disks",
        List.of(
            Map.of("path", rootVolume, "id", "root"), Map.of("path", dataVolume, "id", "data")));
    config.put("net", List.of(Map.of("tap", plan.tap(), "mac", plan.mac(), "id", "net0")));
    config.put("rng", Map.of("src", "/dev/urandom"));
    config.put(
        "vsock",
        Map.of("cid", plan.vsockCid(), "socket", plan.vsockSocket().toString(), "id", "vsock0"));
    config.put("serial", Map.of("mode", "File", "file", plan.consoleLog().toString()));
    config.put("console", Map.of("mode", "Off"));
    return config;
  }

  private static UnixHttp.Response call(VmPlan plan, String method, String action, Object body)
      throws IOException {
    return UnixHttp.request(
        plan.apiSocket(), method, API + action, body == null ? null : Json.write(body));
  }

  private static void must(VmPlan plan, String method, String action, Object body)
      throws IOException {
    UnixHttp.Response r = call(plan, method, action, body);
    if (!r.ok()) {
      throw new IOException(
          "cloud-hypervisor " + action + " failed (" + r.status() + "): " + r.body().strip());
    }
  }

  private boolean vmmAlive(VmPlan plan) {
    try {
      return Files.exists(plan.apiSocket()) && call(plan, "GET", "vmm.ping", null).ok();
    } catch (IOException e) {
      return false;
    }
  }

  /** VM state from vm.info: Created, Running, Paused, Shutdown; null when no VM is defined. */
  String state(VmPlan plan) throws IOException {
    UnixHttp.Response r = call(plan, "GET", "vm.info", null);
    if (!r.ok()) {
      return null;
    }
    return (String) Json.parseObject(r.body()).get("state");
  }

  @Override
  public boolean isRunning(VmPlan plan) {
    try {
      String state = vmmAlive(plan) ? state(plan) : null;
      return "Running".equals(state) || "Paused".equals(state);
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void start(VmPlan plan, String rootVolume, String dataVolume) throws IOException {
    if (!vmmAlive(plan)) {
      launch(plan);
    }
    String state = state(plan);
    if (state == null) {
      must(plan, "PUT", "vm.create", vmConfig(plan, rootVolume, dataVolume));
      state = "Created";
    } else if ("Shutdown".equals(state)) {
      // A shut-down VM keeps its definition; booting it again is a fresh boot.
      state = "Created";
    }
    if ("Created".equals(state)) {
      must(plan, "PUT", "vm.boot", null);
    }
  }

  private void launch(VmPlan plan) throws IOException {
    Files.createDirectories(plan.dir());
    Files.deleteIfExists(plan.apiSocket());
    String script =
        "echo $$ > '"
            + plan.dir().resolve("cloud-hypervisor.pid")
            + "'; exec "
            + (netns == null || netns.isBlank() ? "" : "ip netns exec " + netns + " ")
            + "'"
            + binary
            + "' --api-socket path="
            + plan.apiSocket()
            + " >>'"
            + plan.dir().resolve("cloud-hypervisor.log")
            + "' 2>&1 </dev/null";
    commands.must("setsid", "-f", "sh", "-c", script);
    Instant deadline = Instant.now().plusSeconds(10);
    while (!vmmAlive(plan)) {
      if (Instant.now().isAfter(deadline)) {
        throw new IOException("cloud-hypervisor did not answer on " + plan.apiSocket());
      }
      sleep(20);
    }
  }

  @Override
  public void stop(VmPlan plan, Duration grace) throws IOException {
    if (!vmmAlive(plan)) {
      Files.deleteIfExists(plan.apiSocket());
      return;
    }
    Instant deadline = Instant.now().plus(grace);
    while (isRunning(plan) && Instant.now().isBefore(deadline)) {
      sleep(100);
    }
    if (isRunning(plan)) {
      call(plan, "PUT", "vm.shutdown", null);
    }
    call(plan, "PUT", "vmm.shutdown", null);
    Instant hard = Instant.now().plusSeconds(5);
    while (vmmAlive(plan) && Instant.now().isBefore(hard)) {
      sleep(50);
    }
    Path pidFile = plan.dir().resolve("cloud-hypervisor.pid");
    if (vmmAlive(plan) && Files.exists(pidFile)) {
      commands.run(List.of("kill", "-9", Files.readString(pidFile).trim()));
    }
    Files.deleteIfExists(pidFile);
    Files.deleteIfExists(plan.apiSocket());
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

  /** Hot-resizes CPUs and memory within the VM's maximums; true when applied live. */
  @Override
  public boolean resize(VmPlan plan) throws IOException {
    must(
        plan,
        "PUT",
        "vm.resize",
        Map.of("desired_vcpus", plan.cpus(), "desired_ram", plan.memoryBytes()));
    return true;
  }

  /** Writes a snapshot of a paused VM to a directory (vm.snapshot). */
  public void snapshot(VmPlan plan, Path destination) throws IOException {
    Files.createDirectories(destination); // cloud-hypervisor writes into an existing directory
    must(plan, "PUT", "vm.snapshot", Map.of("destination_url", "file://" + destination));
  }

  /** Reboots the guest in place (vm.reboot). */
  public void reboot(VmPlan plan) throws IOException {
    must(plan, "PUT", "vm.reboot", null);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
