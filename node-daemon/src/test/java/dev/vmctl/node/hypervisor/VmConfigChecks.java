package dev.vmctl.node.hypervisor;

import static dev.vmctl.node.hypervisor.JsonMaps.flag;
import static dev.vmctl.node.hypervisor.JsonMaps.items;
import static dev.vmctl.node.hypervisor.JsonMaps.map;
import static dev.vmctl.node.hypervisor.JsonMaps.num;
import static dev.vmctl.node.hypervisor.JsonMaps.sub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What vm.boot checks before it builds the VM (VmConfig::validate in vmm/src/config.rs, in its
 * order), and the host paths Vm::new opens, for {@link CloudHypervisorEmulator}.
 */
final class VmConfigChecks {
  private VmConfigChecks() {}

  /** Why building the VM fails at vm.boot (VmConfig::validate and the like): HTTP 500. */
  static final class ConfigError extends IllegalArgumentException {
    private final List<String> chain;

    ConfigError(List<String> chain) {
      super(String.join(": ", chain));
      this.chain = List.copyOf(chain);
    }

    public List<String> chain() {
      return chain;
    }
  }

  // ---- what vm.boot checks (VmConfig::validate in vmm/src/config.rs, in its order) ----

  private static final String NEEDS_SHARED_MEMORY =
      "Using vhost-user requires using shared memory or huge pages";
  private static final String TOO_MANY_QUEUES =
      "Number of vCPUs is insufficient for number of queues";

  private static ConfigError invalid(String... why) {
    List<String> chain = new ArrayList<>();
    chain.add("Failed to validate config");
    chain.addAll(List.of(why));
    return new ConfigError(chain);
  }

  static void validateForBoot(Map<String, Object> c) {
    validatePayload(c.get("payload"));
    validateConsole(sub(c, "console"));
    validateConsole(sub(c, "serial"));
    Map<String, Object> cpus = sub(c, "cpus");
    if (num(cpus, "max_vcpus") < num(cpus, "boot_vcpus")) {
      throw invalid("Max CPUs lower than boot CPUs");
    }
    Set<String> ids = new HashSet<>();
    for (Map<String, Object> disk : items(c, "disks")) {
      validateDisk(c, disk, ids);
    }
    for (Map<String, Object> net : items(c, "net")) {
      validateNet(c, net, ids);
    }
    if (!items(c, "fs").isEmpty() && !sharedMemory(c)) {
      throw invalid(NEEDS_SHARED_MEMORY);
    }
    validateTopology(cpus);
    validateHugepages(sub(c, "memory"));
    validateVsockAndBalloon(c, ids);
    validateSizes(c);
  }

  private static void validatePayload(Object payload) {
    String unbootable = "Payload configuration is not bootable";
    if (!(payload instanceof Map<?, ?> p)
        || (p.get("kernel") == null && p.get("firmware") == null)) {
      throw invalid(unbootable, "No bootitem provided: neither firmware nor kernel");
    }
    if (p.get("kernel") != null && p.get("firmware") != null) {
      throw invalid(unbootable, "Specifying a kernel is not supported when a firmware is provided");
    }
  }

  private static void validateConsole(Map<String, Object> console) {
    Object mode = console.get("mode");
    if ("File".equals(mode) && console.get("file") == null) {
      throw invalid("Path missing when using file console mode");
    }
    if ("Socket".equals(mode) && console.get("socket") == null) {
      throw invalid("Path missing when using socket console mode");
    }
  }

  private static void validateDisk(Map<String, Object> c, Map<String, Object> d, Set<String> ids) {
    if (d.get("vhost_socket") != null && d.get("path") != null) {
      throw invalid("Disk path and vhost socket both provided");
    }
    validateVhostUser(c, d);
    Object group = d.get("rate_limit_group");
    if (group != null
        && items(c, "rate_limit_groups").stream().noneMatch(g -> group.equals(g.get("id")))) {
      throw invalid("Invalid rate-limiter group");
    }
    if (num(d, "num_queues") > num(sub(c, "cpus"), "boot_vcpus")) {
      throw invalid(TOO_MANY_QUEUES);
    }
    if (d.get("serial") instanceof String serial && serial.length() > 20) {
      throw invalid(
          "Block device serial length ("
              + serial.length()
              + ") exceeds maximum allowed length (20)");
    }
    identifier(d.get("id"), ids);
  }

  private static void validateNet(Map<String, Object> c, Map<String, Object> n, Set<String> ids) {
    long queues = num(n, "num_queues");
    if (queues < 2) {
      throw invalid("Number of queues to virtio_net less than 2");
    }
    if (queues / 2 > num(sub(c, "cpus"), "boot_vcpus")) {
      throw invalid(TOO_MANY_QUEUES);
    }
    validateVhostUser(c, n);
    if (n.get("mtu") instanceof Long mtu && mtu < 1280) {
      throw invalid(
          "Provided MTU " + mtu + " is lower than 1280 (expected by VIRTIO specification)");
    }
    if (!flag(n, "offload_csum") && (flag(n, "offload_tso") || flag(n, "offload_ufo"))) {
      throw invalid("\"offload_tso\" and \"offload_ufo\" depend on \"offload_csum\"");
    }
    identifier(n.get("id"), ids);
  }

  private static void validateVhostUser(Map<String, Object> c, Map<String, Object> device) {
    if (!flag(device, "vhost_user")) {
      return;
    }
    if (!sharedMemory(c)) {
      throw invalid(NEEDS_SHARED_MEMORY);
    }
    if (device.get("vhost_socket") == null) {
      throw invalid("No socket provided when using vhost-user");
    }
  }

  private static boolean sharedMemory(Map<String, Object> c) {
    Map<String, Object> memory = sub(c, "memory");
    return flag(memory, "shared") || flag(memory, "hugepages");
  }

  private static void identifier(Object id, Set<String> ids) {
    if (!(id instanceof String s)) {
      return;
    }
    if (s.startsWith("__")) {
      throw invalid("Identifier " + s + " is not invalid"); // sic, upstream's wording
    }
    if (!ids.add(s)) {
      throw invalid("Identifier " + s + " is not unique");
    }
  }

  private static void validateTopology(Map<String, Object> cpus) {
    if (!(cpus.get("topology") instanceof Map<?, ?> t)) {
      return;
    }
    Map<String, Object> topology = map(t);
    long product = 1;
    for (String part :
        List.of("threads_per_core", "cores_per_die", "dies_per_package", "packages")) {
      long n = num(topology, part);
      if (n == 0) {
        throw invalid("No part of the CPU topology can be zero");
      }
      product *= n;
    }
    if (product != num(cpus, "max_vcpus")) {
      throw invalid("Product of CPU topology parts does not match maximum vCPU");
    }
  }

  private static void validateHugepages(Map<String, Object> memory) {
    if (!(memory.get("hugepage_size") instanceof Long size)) {
      return;
    }
    if (!flag(memory, "hugepages")) {
      throw invalid("Huge page size specified but huge pages not enabled");
    }
    if (Long.bitCount(size) != 1) {
      throw invalid("Huge page size is not power of 2: " + size);
    }
  }

  private static void validateVsockAndBalloon(Map<String, Object> c, Set<String> ids) {
    Map<String, Object> vsock = c.get("vsock") instanceof Map<?, ?> v ? map(v) : null;
    if (vsock != null) {
      long cid = num(vsock, "cid");
      // [!0, 0, 1, 2]: hypervisor, local, host and "any" are not guest CIDs.
      if (cid <= 2 || cid == 0xffff_ffffL) {
        throw invalid(cid + " is a special VSOCK CID");
      }
    }
    if (c.get("balloon") instanceof Map<?, ?> b) {
      long ram = num(sub(c, "memory"), "size");
      long size = num(map(b), "size");
      if (size >= ram) {
        throw invalid("Ballon size (" + size + ") greater than RAM (" + ram + ")"); // sic
      }
    }
    if (vsock != null) {
      identifier(vsock.get("id"), ids);
    }
  }

  /**
   * Not in VmConfig::validate, and inferred rather than read: a VM without RAM or vCPUs cannot be
   * built (the spec's minimum for boot_vcpus is 1). Texts approximate.
   */
  private static void validateSizes(Map<String, Object> c) {
    Map<String, Object> memory = sub(c, "memory");
    if (num(memory, "size") == 0 && items(memory, "zones").isEmpty()) {
      throw new ConfigError(List.of("Memory manager error", "guest RAM size is 0"));
    }
    if (num(sub(c, "cpus"), "boot_vcpus") == 0) {
      throw new ConfigError(List.of("Error from CPU manager", "boot_vcpus is 0"));
    }
  }

  /** Vm::new opens the payload, disks and rng source, and creates console files and sockets. */
  static void checkHostPaths(Map<String, Object> c) {
    if (c.get("payload") instanceof Map<?, ?> payload) {
      requireExists(payload.get("kernel"), "Cannot open kernel file");
      requireElf(payload.get("kernel"));
      requireExists(payload.get("initramfs"), "Cannot open initramfs file");
      requireExists(payload.get("firmware"), "Error manipulating firmware file");
    }
    for (Map<String, Object> disk : items(c, "disks")) {
      requireExists(disk.get("path"), "Error from device manager", "Cannot open disk path");
    }
    requireExists(sub(c, "rng").get("src"), "Error from device manager", "Cannot open rng source");
    for (String console : List.of("serial", "console")) {
      requireParent(sub(c, console).get("file"), "Error creating console devices");
    }
    if (c.get("vsock") instanceof Map<?, ?> vsock) {
      requireParent(vsock.get("socket"), "Error from device manager");
    }
  }

  private static void requireExists(Object path, String... what) {
    if (path instanceof String p && !Files.exists(Path.of(p))) {
      List<String> chain = new ArrayList<>(List.of(what));
      chain.add("No such file or directory (os error 2)");
      throw new ConfigError(chain);
    }
  }

  /** linux-loader: a kernel that is not ELF is tried as a bzImage, and fails. */
  private static void requireElf(Object path) {
    if (!(path instanceof String p)) {
      return;
    }
    byte[] magic = new byte[4];
    try (InputStream in = Files.newInputStream(Path.of(p))) {
      int n = in.readNBytes(magic, 0, 4);
      if (n == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F') {
        return;
      }
    } catch (IOException e) {
      // unreadable: not ELF either
    }
    throw new ConfigError(List.of("Cannot load the kernel into memory", "Invalid bzImage"));
  }

  private static void requireParent(Object path, String what) {
    Path parent = path instanceof String p ? Path.of(p).toAbsolutePath().getParent() : null;
    if (parent != null && !Files.isDirectory(parent)) {
      throw new ConfigError(List.of(what, "No such file or directory (os error 2)"));
    }
  }
}
