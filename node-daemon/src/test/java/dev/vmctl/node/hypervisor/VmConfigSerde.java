package dev.vmctl.node.hypervisor;

import static dev.vmctl.node.hypervisor.JsonMaps.obj;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * How cloud-hypervisor's serde structs read a JSON body (vmm/src/vm_config.rs, vmm/src/api/mod.rs),
 * for {@link CloudHypervisorEmulator}: required fields, Option and #[serde(default)] fields with
 * their defaults, integer ranges, enum variants, MAC and IP strings. Unknown fields are not denied
 * (they are collected instead).
 */
final class VmConfigSerde {
  private VmConfigSerde() {}

  /** What serde_json reports for a body it cannot read into the Rust type: HTTP 400. */
  static final class SerdeError extends IllegalArgumentException {
    SerdeError(String message) {
      super(message);
    }
  }

  // ---- serde emulation (vmm/src/vm_config.rs; unknown fields are not denied) ----

  /** How a field is declared in Rust. */
  private enum Has {
    /** Neither Option nor #[serde(default)]: "missing field". */
    REQUIRED,
    /** Option: absent or null is None (omitted here). */
    OPTION,
    /** #[serde(default)]: absent takes the default (none: omitted); null is a type error. */
    DEFAULT
  }

  private interface Ty {}

  private record Int(String rust, long max) implements Ty {}

  private record Text(String expecting) implements Ty {}

  private record Flag() implements Ty {}

  private record Choice(String rust, List<String> variants) implements Ty {}

  private record Seq(Ty item) implements Ty {}

  private record Mac() implements Ty {}

  private record Ip() implements Ty {}

  /** A section vmctl does not use: only its JSON shape is checked. */
  private record Opaque(String rust, boolean isMap) implements Ty {}

  private record Field(String name, Ty ty, Has has, Supplier<Object> dflt) {}

  record Struct(String rust, Map<String, Field> fields) implements Ty {}

  private static final Int U8 = new Int("u8", 0xffL);
  private static final Int U16 = new Int("u16", 0xffffL);
  private static final Int U32 = new Int("u32", 0xffff_ffffL);
  private static final Int U64 = new Int("u64", Long.MAX_VALUE);
  private static final Int USIZE = new Int("usize", Long.MAX_VALUE);
  private static final Text STRING = new Text("a string");
  private static final Text PATH = new Text("path string");
  private static final Flag BOOL = new Flag();
  private static final Choice CONSOLE_MODE =
      new Choice("ConsoleOutputMode", List.of("Off", "Pty", "Tty", "File", "Socket", "Null"));

  private static Field req(String name, Ty ty) {
    return new Field(name, ty, Has.REQUIRED, null);
  }

  private static Field opt(String name, Ty ty) {
    return new Field(name, ty, Has.OPTION, null);
  }

  private static Field def(String name, Ty ty, Object value) {
    return new Field(name, ty, Has.DEFAULT, value == null ? null : () -> value);
  }

  private static Field defBy(String name, Ty ty, Supplier<Object> value) {
    return new Field(name, ty, Has.DEFAULT, value);
  }

  private static Struct struct(String rust, Field... fields) {
    Map<String, Field> byName = new LinkedHashMap<>();
    for (Field f : fields) {
      byName.put(f.name(), f);
    }
    return new Struct(rust, byName);
  }

  private static Opaque mapOf(String rust) {
    return new Opaque(rust, true);
  }

  private static Seq seqOf(String rust) {
    return new Seq(new Opaque(rust, true));
  }

  // Field sets: the OpenAPI schemas (plus NetConfig.fds); types and defaults: the Rust structs.
  private static final Struct CPUS =
      struct(
          "CpusConfig",
          req("boot_vcpus", U32),
          req("max_vcpus", U32),
          opt(
              "topology",
              struct(
                  "CpuTopology",
                  req("threads_per_core", U16),
                  req("cores_per_die", U16),
                  req("dies_per_package", U16),
                  req("packages", U16))),
          def("kvm_hyperv", BOOL, false),
          def("max_phys_bits", U8, 46L),
          opt(
              "affinity",
              new Seq(struct("CpuAffinity", req("vcpu", U32), req("host_cpus", new Seq(USIZE))))),
          defBy(
              "features", struct("CpuFeatures", def("amx", BOOL, false)), () -> obj("amx", false)),
          def("nested", BOOL, true),
          def("core_scheduling", new Choice("CoreScheduling", List.of("Vm", "Vcpu", "Off")), "Vm"));

  private static final Struct MEMORY =
      struct(
          "MemoryConfig",
          req("size", U64),
          def("mergeable", BOOL, false),
          def("hotplug_method", new Choice("HotplugMethod", List.of("Acpi", "VirtioMem")), "Acpi"),
          opt("hotplug_size", U64),
          opt("hotplugged_size", U64),
          def("shared", BOOL, false),
          def("hugepages", BOOL, false),
          opt("hugepage_size", U64),
          def("prefault", BOOL, false),
          def("reserve", BOOL, null),
          def("thp", BOOL, true),
          opt("zones", seqOf("MemoryZoneConfig")));

  private static final Struct PAYLOAD =
      struct(
          "PayloadConfig",
          opt("firmware", PATH),
          opt("kernel", PATH),
          opt("cmdline", STRING),
          opt("initramfs", PATH),
          opt("igvm", PATH),
          opt("host_data", STRING));

  private static final Struct DISK =
      struct(
          "DiskConfig",
          opt("path", PATH),
          def("readonly", BOOL, false),
          def("direct", BOOL, false),
          def("iommu", BOOL, false),
          def("num_queues", USIZE, 1L),
          def("queue_size", U16, 128L),
          def("vhost_user", BOOL, false),
          opt("vhost_socket", STRING),
          opt("rate_limiter_config", mapOf("RateLimiterConfig")),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8),
          opt("id", STRING),
          opt("serial", STRING),
          opt("rate_limit_group", STRING),
          opt("queue_affinity", seqOf("VirtQueueAffinity")),
          def("backing_files", BOOL, null),
          def("sparse", BOOL, null),
          opt(
              "image_type",
              new Choice(
                  "ImageType", List.of("FlatVmdk", "FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown"))),
          opt("lock_granularity", new Choice("LockGranularity", List.of("ByteRange", "Full"))));

  private static final Struct NET =
      struct(
          "NetConfig",
          opt("tap", STRING),
          opt("ip", new Ip()),
          opt("mask", new Ip()),
          defBy("mac", new Mac(), VmConfigSerde::localRandomMac),
          opt("host_mac", new Mac()),
          opt("mtu", U16),
          def("iommu", BOOL, false),
          def("num_queues", USIZE, 2L),
          def("queue_size", U16, 256L),
          def("vhost_user", BOOL, false),
          opt("vhost_socket", STRING),
          def("vhost_mode", new Choice("VhostMode", List.of("Client", "Server")), "Client"),
          opt("id", STRING),
          opt("fds", new Seq(new Int("i32", Integer.MAX_VALUE))),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8),
          opt("rate_limiter_config", mapOf("RateLimiterConfig")),
          def("offload_tso", BOOL, true),
          def("offload_ufo", BOOL, true),
          def("offload_csum", BOOL, true));

  private static final Struct RNG =
      struct(
          "RngConfig",
          req("src", PATH),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8));

  private static final Struct BALLOON =
      struct(
          "BalloonConfig",
          req("size", U64),
          def("deflate_on_oom", BOOL, false),
          def("free_page_reporting", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8),
          def("iommu", BOOL, null));

  // Rust uses ConsoleConfig for both serial and console.
  private static final Struct CONSOLE =
      struct(
          "ConsoleConfig",
          opt("file", PATH),
          opt("socket", PATH),
          req("mode", CONSOLE_MODE),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8));

  private static final Struct VSOCK =
      struct(
          "VsockConfig",
          req("cid", U32),
          req("socket", PATH),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8));

  private static final Struct VM_CONFIG =
      struct(
          "VmConfig",
          defBy("cpus", CPUS, () -> defaults(CPUS, obj("boot_vcpus", 1L, "max_vcpus", 1L))),
          defBy("memory", MEMORY, () -> defaults(MEMORY, obj("size", 512L << 20))),
          opt("payload", PAYLOAD),
          opt("rate_limit_groups", seqOf("RateLimitGroupConfig")),
          opt("disks", new Seq(DISK)),
          opt("net", new Seq(NET)),
          defBy("rng", RNG, () -> defaults(RNG, obj("src", "/dev/urandom"))),
          opt("balloon", BALLOON),
          opt("fs", seqOf("FsConfig")),
          opt("generic_vhost_user", seqOf("GenericVhostUserConfig")),
          opt("pmem", seqOf("PmemConfig")),
          defBy("serial", CONSOLE, () -> defaults(CONSOLE, obj("mode", "Null"))),
          defBy("console", CONSOLE, () -> defaults(CONSOLE, obj("mode", "Tty"))),
          def("debug_console", mapOf("DebugConsoleConfig"), null),
          opt("devices", seqOf("DeviceConfig")),
          opt("user_devices", seqOf("UserDeviceConfig")),
          opt("vdpa", seqOf("VdpaConfig")),
          opt("vsock", VSOCK),
          opt("numa", seqOf("NumaConfig")),
          def("iommu", BOOL, false),
          def("watchdog", BOOL, false),
          opt("rtc", mapOf("RtcConfig")),
          def("pvpanic", BOOL, false),
          opt("pci_segments", seqOf("PciSegmentConfig")),
          opt("platform", mapOf("PlatformConfig")),
          opt("tpm", mapOf("TpmConfig")),
          def("landlock_enable", BOOL, false),
          opt("landlock_rules", seqOf("LandlockConfig")));

  // vmm/src/api/mod.rs: VmResizeData (all Option), VmSnapshotConfig (destination_url required).
  static final Struct VM_RESIZE =
      struct(
          "VmResizeData",
          opt("desired_vcpus", U32),
          opt("desired_ram", U64),
          opt("desired_balloon", U64));

  static final Struct VM_SNAPSHOT = struct("VmSnapshotConfig", req("destination_url", STRING));

  static Map<String, Object> readVmConfig(Object json, List<String> unknown) {
    return readStruct(VM_CONFIG, json, "", unknown);
  }

  private static Map<String, Object> defaults(Struct s, Map<String, Object> required) {
    return readStruct(s, required, "", new ArrayList<>());
  }

  private static Object read(Ty ty, Object v, String at, List<String> unknown) {
    if (ty instanceof Struct s) {
      return readStruct(s, v, at, unknown);
    }
    if (ty instanceof Seq s) {
      return readSeq(s, v, at, unknown);
    }
    if (ty instanceof Int i) {
      return readInt(i, v);
    }
    if (ty instanceof Text t) {
      return expect(v instanceof String, v, t.expecting());
    }
    if (ty instanceof Flag) {
      return expect(v instanceof Boolean, v, "a boolean");
    }
    if (ty instanceof Choice c) {
      return readChoice(c, v);
    }
    if (ty instanceof Mac) {
      return readMac(v);
    }
    if (ty instanceof Ip) {
      return readIp(v);
    }
    Opaque o = (Opaque) ty;
    return o.isMap()
        ? expect(v instanceof Map, v, "struct " + o.rust())
        : expect(v instanceof List, v, "a sequence");
  }

  static Map<String, Object> readStruct(Struct s, Object v, String at, List<String> unknown) {
    if (!(v instanceof Map<?, ?> m)) {
      throw invalidType(v, "struct " + s.rust());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Field f : s.fields().values()) {
      readField(f, m, at, unknown, out);
    }
    for (Object key : m.keySet()) {
      if (!s.fields().containsKey(String.valueOf(key))) {
        unknown.add(join(at, String.valueOf(key))); // accepted and dropped, like serde does
      }
    }
    return out;
  }

  private static void readField(
      Field f, Map<?, ?> m, String at, List<String> unknown, Map<String, Object> out) {
    if (!m.containsKey(f.name())) {
      if (f.has() == Has.REQUIRED) {
        throw new SerdeError("missing field `" + f.name() + "`");
      }
      if (f.has() == Has.DEFAULT && f.dflt() != null) {
        out.put(f.name(), f.dflt().get());
      }
      return;
    }
    Object value = m.get(f.name());
    if (value == null && f.has() == Has.OPTION) {
      return;
    }
    out.put(f.name(), read(f.ty(), value, join(at, f.name()), unknown));
  }

  private static List<Object> readSeq(Seq s, Object v, String at, List<String> unknown) {
    if (!(v instanceof List<?> list)) {
      throw invalidType(v, "a sequence");
    }
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      out.add(read(s.item(), list.get(i), at + "[" + i + "]", unknown));
    }
    return out;
  }

  private static Long readInt(Int type, Object v) {
    if (!(v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte)) {
      throw invalidType(v, type.rust());
    }
    long n = ((Number) v).longValue();
    if (n < 0 || n > type.max()) {
      throw new SerdeError("invalid value: integer `" + n + "`, expected " + type.rust());
    }
    return n;
  }

  private static String readChoice(Choice c, Object v) {
    if (!(v instanceof String s)) {
      throw invalidType(v, "enum " + c.rust());
    }
    if (!c.variants().contains(s)) {
      throw new SerdeError("unknown variant `" + s + "`, expected " + oneOf(c.variants()));
    }
    return s;
  }

  /** serde's wording for the expected variants. */
  private static String oneOf(List<String> variants) {
    List<String> quoted = variants.stream().map(x -> "`" + x + "`").toList();
    if (quoted.size() == 2) {
      return quoted.get(0) + " or " + quoted.get(1);
    }
    return "one of " + String.join(", ", quoted);
  }

  /** net_util::MacAddr::parse_str: six ':'-separated parts of two hex digits. */
  private static String readMac(Object v) {
    String s = (String) expect(v instanceof String, v, "a string");
    String[] parts = s.split(":", -1);
    boolean ok = parts.length == 6;
    for (int i = 0; ok && i < parts.length; i++) {
      ok = parts[i].length() == 2 && isHexByte(parts[i]);
    }
    if (!ok) {
      throw new SerdeError("parsing of " + s + " into a MAC address failed");
    }
    return s;
  }

  private static boolean isHexByte(String s) {
    try {
      int b = Integer.parseInt(s, 16); // like u8::from_str_radix, a leading '+' is accepted
      return b >= 0 && b <= 255;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String readIp(Object v) {
    String s = (String) expect(v instanceof String, v, "IP address");
    if (!isIpv4(s) && !isIpv6(s)) {
      throw new SerdeError("invalid IP address syntax");
    }
    return s;
  }

  /** Rust's Ipv4Addr parser: four decimal octets, no leading zeros. */
  private static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      boolean digits =
          !p.isEmpty() && p.length() <= 3 && p.chars().allMatch(c -> c >= '0' && c <= '9');
      if (!digits || (p.length() > 1 && p.charAt(0) == '0') || Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpv6(String s) {
    if (!s.contains(":") || !s.matches("[0-9A-Fa-f:.]+")) {
      return false;
    }
    try {
      InetAddress.getByName(s); // a literal: no lookup
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static String localRandomMac() {
    byte[] b = new byte[6];
    ThreadLocalRandom.current().nextBytes(b);
    b[0] = (byte) ((b[0] & 0xfe) | 0x02); // MacAddr::local_random: unicast, locally administered
    StringBuilder mac = new StringBuilder();
    for (byte x : b) {
      mac.append(mac.length() == 0 ? "" : ":").append(String.format("%02x", x & 0xff));
    }
    return mac.toString();
  }

  private static Object expect(boolean ok, Object v, String expecting) {
    if (!ok) {
      throw invalidType(v, expecting);
    }
    return v;
  }

  private static SerdeError invalidType(Object v, String expecting) {
    return new SerdeError("invalid type: " + unexpected(v) + ", expected " + expecting);
  }

  /** serde's Unexpected wording. */
  private static String unexpected(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Boolean b) {
      return "boolean `" + b + "`";
    }
    if (v instanceof Double || v instanceof Float) {
      return "floating point `" + v + "`";
    }
    if (v instanceof Number n) {
      return "integer `" + n + "`";
    }
    if (v instanceof String s) {
      return "string \"" + s + "\"";
    }
    return v instanceof List ? "sequence" : "map";
  }

  private static String join(String at, String key) {
    return at.isEmpty() ? key : at + "." + key;
  }
}
