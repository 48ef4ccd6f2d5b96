package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.ChannelStreams;
import dev.vmctl.agent.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An emulation of cloud-hypervisor's REST API on its --api-socket, written from the upstream
 * OpenAPI spec (cloud-hypervisor/cloud-hypervisor, vmm/src/api/openapi/cloud-hypervisor.yaml, read
 * 2026-11-23), not from vmctl's driver: the field sets, required fields, enums, minimums and status
 * codes below are the spec's. It keeps the VMM's state machine and rejects any request body the
 * spec would reject: missing required fields, wrong types, unknown fields, bad enum values,
 * impossible values.
 */
final class CloudHypervisorEmulator implements AutoCloseable {

  /** One request as received. */
  record Request(String method, String path, String body) {}

  // Properties the spec defines per object; anything else is rejected.
  static final Map<String, Set<String>> FIELDS =
      Map.ofEntries(
          Map.entry(
              "VmConfig",
              Set.of(
                  "cpus",
                  "memory",
                  "payload",
                  "rate_limit_groups",
                  "disks",
                  "net",
                  "rng",
                  "balloon",
                  "fs",
                  "generic_vhost_user",
                  "pmem",
                  "serial",
                  "console",
                  "debug_console",
                  "devices",
                  "user_devices",
                  "vdpa",
                  "vsock",
                  "numa",
                  "iommu",
                  "watchdog",
                  "rtc",
                  "pvpanic",
                  "pci_segments",
                  "platform",
                  "tpm",
                  "landlock_enable",
                  "landlock_rules")),
          Map.entry(
              "CpusConfig",
              Set.of(
                  "boot_vcpus",
                  "max_vcpus",
                  "topology",
                  "kvm_hyperv",
                  "max_phys_bits",
                  "nested",
                  "affinity",
                  "features",
                  "core_scheduling")),
          Map.entry(
              "MemoryConfig",
              Set.of(
                  "size",
                  "hotplug_size",
                  "hotplugged_size",
                  "mergeable",
                  "hotplug_method",
                  "shared",
                  "hugepages",
                  "hugepage_size",
                  "prefault",
                  "reserve",
                  "thp",
                  "zones")),
          Map.entry(
              "PayloadConfig",
              Set.of("firmware", "kernel", "cmdline", "initramfs", "igvm", "host_data")),
          Map.entry(
              "DiskConfig",
              Set.of(
                  "path",
                  "readonly",
                  "direct",
                  "iommu",
                  "num_queues",
                  "queue_size",
                  "vhost_user",
                  "vhost_socket",
                  "rate_limiter_config",
                  "pci_segment",
                  "pci_device_id",
                  "id",
                  "serial",
                  "rate_limit_group",
                  "queue_affinity",
                  "backing_files",
                  "sparse",
                  "image_type",
                  "lock_granularity")),
          Map.entry(
              "NetConfig",
              Set.of(
                  "tap",
                  "ip",
                  "mask",
                  "mac",
                  "host_mac",
                  "mtu",
                  "iommu",
                  "num_queues",
                  "queue_size",
                  "vhost_user",
                  "vhost_socket",
                  "vhost_mode",
                  "id",
                  "pci_segment",
                  "pci_device_id",
                  "rate_limiter_config",
                  "offload_tso",
                  "offload_ufo",
                  "offload_csum")),
          Map.entry("RngConfig", Set.of("id", "pci_segment", "pci_device_id", "iommu", "src")),
          Map.entry("ConsoleConfig", Set.of("file", "socket", "mode", "iommu", "id")),
          Map.entry("SerialConfig", Set.of("file", "socket", "mode")),
          Map.entry(
              "VsockConfig",
              Set.of("cid", "socket", "iommu", "pci_segment", "pci_device_id", "id")),
          Map.entry("VmResize", Set.of("desired_vcpus", "desired_ram", "desired_balloon")));

  private final Path socket;
  private final ServerSocketChannel server;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private volatile String state; // null: no VM; Created, Running, Paused, Shutdown
  private volatile Map<String, Object> config;

  CloudHypervisorEmulator(Path socket) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t = new Thread(this::acceptLoop, "ch-emulator");
    t.setDaemon(true);
    t.start();
  }

  String state() {
    return state;
  }

  Map<String, Object> config() {
    return config;
  }

  List<Request> requests() {
    return requests;
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try (SocketChannel ch = server.accept()) {
        serve(ch);
      } catch (IOException | RuntimeException e) {
        // one bad connection never stops the VMM
      }
    }
  }

  private void serve(SocketChannel ch) throws IOException {
    InputStream in = ChannelStreams.in(ch);
    String[] line = readLine(in).split(" ");
    int length = 0;
    String header;
    while (!(header = readLine(in)).isEmpty()) {
      int colon = header.indexOf(':');
      if (colon > 0
          && header.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
        length = Integer.parseInt(header.substring(colon + 1).trim());
      }
    }
    String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
    requests.add(new Request(line[0], line[1], body));
    int[] status = {500};
    String reply;
    try {
      reply = handle(line[0], line[1], body, status);
    } catch (IllegalArgumentException e) {
      status[0] = 400;
      reply = e.getMessage();
    }
    respond(ChannelStreams.out(ch), status[0], reply);
    if (line[1].equals("/api/v1/vmm.shutdown")) {
      close();
    }
  }

  private String handle(String method, String path, String body, int[] status) {
    String action = path.startsWith("/api/v1/") ? path.substring(8) : path;
    boolean get = method.equals("GET");
    switch (action) {
      case "vmm.ping" -> {
        requireMethod(get, "GET");
        status[0] = 200;
        return Json.write(
            Map.of(
                "build_version",
                "v48.0",
                "version",
                "48.0.0",
                "pid",
                ProcessHandle.current().pid(),
                "features",
                List.of("kvm")));
      }
      case "vmm.shutdown" -> {
        requireMethod(!get, "PUT");
        status[0] = 204;
        return "";
      }
      case "vm.create" -> {
        requireMethod(!get, "PUT");
        if (state != null) {
          status[0] = 500;
          return "Error creating VM: VM is already created";
        }
        Map<String, Object> cfg = Json.parseObject(body.isEmpty() ? "null" : body);
        validateVmConfig(cfg);
        config = cfg;
        state = "Created";
        status[0] = 204;
        return "";
      }
      case "vm.info" -> {
        requireMethod(get, "GET");
        if (state == null) {
          status[0] = 404; // spec: "not available because the VM is not created"
          return "";
        }
        status[0] = 200;
        return Json.write(
            Map.of(
                "config",
                config,
                "state",
                state,
                "memory_actual_size",
                asMap(config.get("memory")).get("size")));
      }
      case "vm.boot" -> transition(status, Set.of("Created", "Shutdown"), "Running", "boot");
      case "vm.pause" -> transition(status, Set.of("Running"), "Paused", "pause");
      case "vm.resume" -> transition(status, Set.of("Paused"), "Running", "resume");
      case "vm.shutdown" ->
          transition(status, Set.of("Running", "Paused"), "Shutdown", "shut down");
      case "vm.reboot" -> transition(status, Set.of("Running"), "Running", "reboot");
      case "vm.delete" -> {
        state = null;
        config = null;
        status[0] = 204;
        return "";
      }
      case "vm.resize" -> {
        requireMethod(!get, "PUT");
        Map<String, Object> r = object(Json.parse(body), "VmResize");
        transition(status, Set.of("Running", "Paused"), state, "resize");
        if (status[0] != 204) {
          return "Error resizing VM: VM is not running";
        }
        long max = ((Number) asMap(config.get("cpus")).get("max_vcpus")).longValue();
        if (r.containsKey("desired_vcpus") && integer(r, "desired_vcpus", "VmResize") < 1) {
          throw new IllegalArgumentException("desired_vcpus must be at least 1");
        }
        if (r.containsKey("desired_vcpus") && integer(r, "desired_vcpus", "VmResize") > max) {
          status[0] = 500;
          return "Error resizing VM: desired_vcpus above max_vcpus";
        }
        return "";
      }
      case "vm.snapshot" -> {
        Map<String, Object> s = Json.parseObject(body);
        if (!(s.get("destination_url") instanceof String)) {
          throw new IllegalArgumentException("missing field `destination_url`");
        }
        transition(status, Set.of("Paused"), "Paused", "snapshot");
        return "";
      }
      default -> {
        status[0] = 404;
        return "";
      }
    }
    return "";
  }

  private void transition(int[] status, Set<String> from, String to, String what) {
    if (state == null) {
      status[0] = 404;
      return;
    }
    if (!from.contains(state)) {
      status[0] = 405;
      return;
    }
    state = to;
    status[0] = 204;
  }

  private static void requireMethod(boolean ok, String expected) {
    if (!ok) {
      throw new IllegalArgumentException("method must be " + expected);
    }
  }

  // ---- validation, per the spec's schemas ----

  static void validateVmConfig(Map<String, Object> cfg) {
    object(cfg, "VmConfig");
    if (!cfg.containsKey("payload")) {
      throw new IllegalArgumentException("missing field `payload`");
    }
    Map<String, Object> payload = object(cfg.get("payload"), "PayloadConfig");
    if (!payload.containsKey("kernel") && !payload.containsKey("firmware")) {
      throw new IllegalArgumentException("payload needs kernel or firmware");
    }
    for (String f : List.of("kernel", "cmdline", "initramfs", "firmware")) {
      optionalString(payload, f, "PayloadConfig");
    }
    if (cfg.containsKey("cpus")) {
      Map<String, Object> cpus = object(cfg.get("cpus"), "CpusConfig");
      long boot = integer(cpus, "boot_vcpus", "CpusConfig");
      long max = integer(cpus, "max_vcpus", "CpusConfig");
      if (boot < 1 || max < boot) {
        throw new IllegalArgumentException("max_vcpus must be >= boot_vcpus >= 1");
      }
    }
    if (cfg.containsKey("memory")) {
      Map<String, Object> memory = object(cfg.get("memory"), "MemoryConfig");
      if (integer(memory, "size", "MemoryConfig") <= 0) {
        throw new IllegalArgumentException("memory size must be positive");
      }
      if (memory.containsKey("hotplug_method")
          && !Set.of("Acpi", "VirtioMem").contains(memory.get("hotplug_method"))) {
        throw new IllegalArgumentException(
            "unknown variant `"
                + memory.get("hotplug_method")
                + "`, expected `Acpi` or `VirtioMem`");
      }
      if (memory.containsKey("hotplug_size")) {
        integer(memory, "hotplug_size", "MemoryConfig");
      }
      optionalBoolean(memory, "shared", "MemoryConfig");
    }
    for (Object disk : list(cfg, "disks")) {
      Map<String, Object> d = object(disk, "DiskConfig");
      optionalString(d, "path", "DiskConfig");
      optionalString(d, "id", "DiskConfig");
      optionalBoolean(d, "readonly", "DiskConfig");
    }
    for (Object net : list(cfg, "net")) {
      Map<String, Object> n = object(net, "NetConfig");
      optionalString(n, "tap", "NetConfig");
      optionalString(n, "id", "NetConfig");
      if (n.containsKey("mac")
          && !String.valueOf(n.get("mac")).matches("^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")) {
        throw new IllegalArgumentException("invalid MAC address " + n.get("mac"));
      }
    }
    if (cfg.containsKey("rng")) {
      Map<String, Object> rng = object(cfg.get("rng"), "RngConfig");
      if (!(rng.get("src") instanceof String)) {
        throw new IllegalArgumentException("missing field `src`");
      }
    }
    for (String console : List.of("serial", "console")) {
      if (cfg.containsKey(console)) {
        Map<String, Object> c =
            object(cfg.get(console), console.equals("serial") ? "SerialConfig" : "ConsoleConfig");
        if (!Set.of("Off", "Pty", "Tty", "File", "Socket", "Null").contains(c.get("mode"))) {
          throw new IllegalArgumentException("unknown or missing console mode " + c.get("mode"));
        }
        if ("File".equals(c.get("mode")) && !(c.get("file") instanceof String)) {
          throw new IllegalArgumentException("console mode File needs file");
        }
      }
    }
    if (cfg.containsKey("vsock")) {
      Map<String, Object> v = object(cfg.get("vsock"), "VsockConfig");
      if (integer(v, "cid", "VsockConfig") < 3) {
        throw new IllegalArgumentException("vsock cid must be at least 3");
      }
      if (!(v.get("socket") instanceof String)) {
        throw new IllegalArgumentException("missing field `socket`");
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> object(Object o, String schema) {
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException(schema + " must be an object");
    }
    Map<String, Object> m = (Map<String, Object>) o;
    for (String key : m.keySet()) {
      if (!FIELDS.get(schema).contains(key)) {
        throw new IllegalArgumentException("unknown field `" + key + "` in " + schema);
      }
    }
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o) {
    return (Map<String, Object>) o;
  }

  private static List<?> list(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> l)) {
      throw new IllegalArgumentException(key + " must be an array");
    }
    return l;
  }

  private static long integer(Map<String, Object> m, String key, String schema) {
    if (!(m.get(key) instanceof Long l)) {
      throw new IllegalArgumentException(
          m.containsKey(key)
              ? key + " in " + schema + " must be an integer"
              : "missing field `" + key + "`");
    }
    return l;
  }

  private static void optionalString(Map<String, Object> m, String key, String schema) {
    if (m.containsKey(key) && !(m.get(key) instanceof String)) {
      throw new IllegalArgumentException(key + " in " + schema + " must be a string");
    }
  }

  private static void optionalBoolean(Map<String, Object> m, String key, String schema) {
    if (m.containsKey(key) && !(m.get(key) instanceof Boolean)) {
      throw new IllegalArgumentException(key + " in " + schema + " must be a boolean");
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      if (c != '\r') {
        buf.write(c);
      }
    }
    return buf.toString(StandardCharsets.US_ASCII);
  }

  private static void respond(OutputStream out, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    String reason =
        switch (status) {
          case 200 -> "OK";
          case 204 -> "No Content";
          case 400 -> "Bad Request";
          case 404 -> "Not Found";
          case 405 -> "Method Not Allowed";
          default -> "Internal Server Error";
        };
    String head =
        "HTTP/1.1 "
            + status
            + " "
            + reason
            + "\r\nServer: Cloud Hypervisor API\r\nConnection: close\r\n"
            + (bytes.length > 0 ? "Content-Type: application/json\r\n" : "")
            + "Content-Length: "
            + bytes.length
            + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
    out.flush();
  }

  @Override
  public void close() throws IOException {
    server.close();
    Files.deleteIfExists(socket);
  }
}
