package dev.vmctl.agent.guest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** The agent's operations. Each takes the request's args and returns the result object. */
final class Operations {
  static final String VERSION = "0.1.0";
  private static final Pattern HOSTNAME =
      Pattern.compile(
          "^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$");
  private static final Pattern CIDR =
      Pattern.compile("^[0-9.]+/[0-9]{1,2}$|^[0-9a-fA-F:]+/[0-9]{1,3}$");
  private static final Pattern IP = Pattern.compile("^[0-9.]+$|^[0-9a-fA-F:]+$");
  private static final Pattern USER = Pattern.compile("^[a-z_][a-z0-9_-]{0,31}$");
  private static final Pattern KEY =
      Pattern.compile(
          "^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\\.com) [A-Za-z0-9+/=]+( [^\\n]*)?$");
  private static final Pattern IFACE = Pattern.compile("^[a-zA-Z0-9_.-]{1,15}$");

  /** Sends intermediate frames (exec output) for the request being served. */
  interface Stream {
    void send(Map<String, Object> partial) throws IOException;
  }

  private final GuestSystem system;
  private final Path root;
  private final long startNanos = System.nanoTime();
  private long[] lastCpu;

  /** {@code root} is "/" in a guest; tests point it elsewhere for the files the agent writes. */
  Operations(GuestSystem system, Path root) {
    this.system = system;
    this.root = root;
  }

  Map<String, Object> call(String op, Args args, Stream stream) throws AgentException, IOException {
    return switch (op) {
      case "hello" -> hello();
      case "network.configure" -> configureNetwork(args);
      case "hostname.set" -> setHostname(args);
      case "ssh.authorizedKeys.set" -> setAuthorizedKeys(args);
      case "exec" -> exec(args, stream);
      case "stats" -> stats();
      case "ports" -> ports();
      case "shutdown" -> power(false);
      case "reboot" -> power(true);
      default -> throw new AgentException("UnknownOperation", "no operation named " + op);
    };
  }

  private Map<String, Object> hello() throws IOException {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("agentVersion", VERSION);
    r.put("bootId", readProc("sys/kernel/random/boot_id"));
    r.put("uptimeSeconds", (long) Double.parseDouble(readProc("uptime").split(" ")[0]));
    r.put("agentUptimeMillis", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    r.put("hostname", readProc("sys/kernel/hostname"));
    r.put("kernel", readProc("sys/kernel/osrelease"));
    r.put("os", osName());
    return r;
  }

  private String osName() {
    try {
      for (String line : Files.readAllLines(Path.of("/etc/os-release"))) {
        if (line.startsWith("PRETTY_NAME=")) {
          return line.substring("PRETTY_NAME=".length()).replace("\"", "");
        }
      }
    } catch (IOException ignored) {
      // fall through
    }
    return "Linux";
  }

  private Map<String, Object> configureNetwork(Args args) throws AgentException, IOException {
    String address = args.string("address");
    if (!CIDR.matcher(address).matches()) {
      throw AgentException.invalid("address must be CIDR, such as 10.100.0.5/24");
    }
    String gateway = args.optString("gateway", null);
    if (gateway != null && !IP.matcher(gateway).matches()) {
      throw AgentException.invalid("gateway must be an IP address");
    }
    List<String> dns = args.strings("dns", false);
    for (String d : dns) {
      if (!IP.matcher(d).matches()) {
        throw AgentException.invalid("dns entries must be IP addresses");
      }
    }
    long mtu = args.optLong("mtu", 1500);
    if (mtu < 576 || mtu > 65535) {
      throw AgentException.invalid("mtu must be between 576 and 65535");
    }
    String iface = args.optString("interface", null);
    String mac = args.optString("mac", null);
    if (iface == null) {
      iface = findInterface(mac);
    } else if (!IFACE.matcher(iface).matches()) {
      throw AgentException.invalid("interface is not a valid interface name");
    }
    must(List.of("ip", "link", "set", "dev", iface, "mtu", Long.toString(mtu), "up"));
    // Usually the boot already has it (the host's seed, applied by udev): then no flush, which
    // would cut the address from under the SSH sessions that are already open.
    if (!List.of(address).equals(addresses(iface))) {
      must(List.of("ip", "addr", "flush", "dev", iface));
      must(List.of("ip", "addr", "add", address, "dev", iface));
    }
    if (gateway != null) {
      must(List.of("ip", "route", "replace", "default", "via", gateway, "dev", iface));
    }
    if (!dns.isEmpty()) {
      StringBuilder resolv = new StringBuilder("# written by the vmctl guest agent\n");
      dns.forEach(d -> resolv.append("nameserver ").append(d).append('\n'));
      system.write(root.resolve("etc/resolv.conf"), resolv.toString(), "rw-r--r--");
    }
    return Map.of("interface", iface, "address", address);
  }

  /**
   * The interface with this MAC, waiting up to {@link #INTERFACE_WAIT} for it: the agent starts as
   * early as sshd, before udev's coldplug has loaded virtio-net, so a host that configures the
   * network at once can ask before the interface exists (seen in GuestBootGuestTest under load).
   */
  private String findInterface(String mac) throws AgentException, IOException {
    long deadline = System.nanoTime() + INTERFACE_WAIT.toNanos();
    while (true) {
      List<String> candidates = interfaces(mac);
      if (!candidates.isEmpty()) {
        return candidates.get(0);
      }
      if (System.nanoTime() > deadline) {
        throw new AgentException(
            "NotFound", mac == null ? "no network interface" : "no interface with MAC " + mac);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for the network interface", e);
      }
    }
  }

  private static final java.time.Duration INTERFACE_WAIT = java.time.Duration.ofSeconds(5);

  private static List<String> interfaces(String mac) throws IOException {
    Path net = Path.of("/sys/class/net");
    List<String> candidates = new ArrayList<>();
    try (var list = Files.list(net)) {
      for (Path p : list.sorted().toList()) {
        String name = p.getFileName().toString();
        if (name.equals("lo")) {
          continue;
        }
        String address = Files.readString(p.resolve("address")).trim();
        if (mac == null || mac.equalsIgnoreCase(address)) {
          candidates.add(name);
        }
      }
    }
    return candidates;
  }

  private Map<String, Object> setHostname(Args args) throws AgentException, IOException {
    String hostname = args.string("hostname");
    if (!HOSTNAME.matcher(hostname).matches()) {
      throw AgentException.invalid("hostname must be lowercase letters, digits, - and .");
    }
    system.write(root.resolve("etc/hostname"), hostname + "\n", "rw-r--r--");
    String hosts =
        "127.0.0.1 localhost\n127.0.1.1 "
            + hostname
            + "\n::1 localhost ip6-localhost ip6-loopback\n";
    system.write(root.resolve("etc/hosts"), hosts, "rw-r--r--");
    must(List.of("hostname", hostname));
    return Map.of("hostname", hostname);
  }

  private Map<String, Object> setAuthorizedKeys(Args args) throws AgentException, IOException {
    String user = args.string("user");
    if (!USER.matcher(user).matches()) {
      throw AgentException.invalid("user is not a valid user name");
    }
    List<String> keys = args.strings("keys", true);
    for (String key : keys) {
      if (!KEY.matcher(key.strip()).matches()) {
        throw AgentException.invalid(
            "not an OpenSSH public key: " + key.substring(0, Math.min(20, key.length())) + "...");
      }
    }
    String[] entry = passwdEntry(user);
    Path home = root.resolve(entry[5].substring(1));
    Path file = home.resolve(".ssh/authorized_keys");
    StringBuilder content = new StringBuilder("# managed by the vmctl guest agent\n");
    keys.forEach(k -> content.append(k.strip()).append('\n'));
    system.write(file, content.toString(), "rw-------");
    must(List.of("chmod", "700", home.resolve(".ssh").toString()));
    must(List.of("chown", "-R", entry[2] + ":" + entry[3], home.resolve(".ssh").toString()));
    return Map.of("user", user, "keys", (long) keys.size());
  }

  private String[] passwdEntry(String user) throws AgentException, IOException {
    for (String line : system.read(root.resolve("etc/passwd")).split("\n")) {
      String[] f = line.split(":");
      if (f.length >= 7 && f[0].equals(user)) {
        return f;
      }
    }
    throw new AgentException("NotFound", "no user named " + user);
  }

  private Map<String, Object> exec(Args args, Stream stream) throws AgentException, IOException {
    List<String> argv = args.strings("argv", true);
    if (argv.isEmpty()) {
      throw AgentException.invalid("argv must not be empty");
    }
    Map<String, String> env = args.stringMap("env");
    String stdin = args.optString("stdin", null);
    long timeout = args.optLong("timeoutSeconds", 60);
    if (timeout < 1 || timeout > 86400) {
      throw AgentException.invalid("timeoutSeconds must be between 1 and 86400");
    }
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AgentException("ExecFailed", "cannot start " + argv.get(0) + ": " + e.getMessage());
    }
    Thread out = pump(p.getInputStream(), "stdout", stream);
    Thread err = pump(p.getErrorStream(), "stderr", stream);
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException ignored) {
      // the process may not read its input
    }
    boolean timedOut = false;
    try {
      if (!p.waitFor(timeout, TimeUnit.SECONDS)) {
        timedOut = true;
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      out.join(5000);
      err.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("exitCode", (long) (p.isAlive() ? -1 : p.exitValue()));
    r.put("timedOut", timedOut);
    return r;
  }

  private static Thread pump(InputStream in, String name, Stream stream) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[32 * 1024];
              try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                  Map<String, Object> chunk = new LinkedHashMap<>();
                  chunk.put("stream", name);
                  chunk.put(
                      "data", Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf, n)));
                  stream.send(chunk);
                }
              } catch (IOException ignored) {
                // caller gone or process closed the stream
              }
            },
            "exec-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private Map<String, Object> stats() throws IOException {
    Map<String, Object> r = new LinkedHashMap<>();
    String[] cpu = readProc("stat").split("\n")[0].trim().split("\\s+");
    long[] now = new long[cpu.length - 1];
    for (int i = 1; i < cpu.length; i++) {
      now[i - 1] = Long.parseLong(cpu[i]);
    }
    long total = 0;
    for (long v : now) {
      total += v;
    }
    long idle = now[3] + (now.length > 4 ? now[4] : 0);
    synchronized (this) {
      if (lastCpu != null) {
        long dt = total - lastCpu[0];
        long di = idle - lastCpu[1];
        r.put("cpuPercent", dt <= 0 ? 0.0 : Math.round(1000.0 * (dt - di) / dt) / 10.0);
      }
      lastCpu = new long[] {total, idle};
    }
    Map<String, Long> mem = new TreeMap<>();
    for (String line : readProc("meminfo").split("\n")) {
      String[] f = line.split("\\s+");
      if (f.length >= 2) {
        mem.put(f[0].replace(":", ""), Long.parseLong(f[1]) * 1024);
      }
    }
    r.put("memoryTotalBytes", mem.getOrDefault("MemTotal", 0L));
    r.put(
        "memoryUsedBytes", mem.getOrDefault("MemTotal", 0L) - mem.getOrDefault("MemAvailable", 0L));
    FileStore store = Files.getFileStore(Path.of("/"));
    r.put("diskTotalBytes", store.getTotalSpace());
    r.put("diskUsedBytes", store.getTotalSpace() - store.getUnallocatedSpace());
    String[] load = readProc("loadavg").split(" ");
    r.put("load1", Double.parseDouble(load[0]));
    r.put("load5", Double.parseDouble(load[1]));
    r.put("load15", Double.parseDouble(load[2]));
    r.put("uptimeSeconds", (long) Double.parseDouble(readProc("uptime").split(" ")[0]));
    return r;
  }

  private Map<String, Object> ports() throws IOException {
    TreeMap<Long, Map<String, Object>> ports = new TreeMap<>();
    for (String file : List.of("net/tcp", "net/tcp6")) {
      String content;
      try {
        content = readProc(file);
      } catch (IOException e) {
        continue;
      }
      for (String line : content.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 4 || !f[3].equals("0A")) { // 0A = LISTEN
          continue;
        }
        String[] local = f[1].split(":");
        long port = Long.parseLong(local[1], 16);
        String address = file.endsWith("6") ? "::" : decodeIpv4(local[0]);
        ports.putIfAbsent(port, new LinkedHashMap<>(Map.of("port", port, "address", address)));
      }
    }
    return Map.of("tcp", new ArrayList<>(ports.values()));
  }

  private static String decodeIpv4(String hex) {
    long v = Long.parseLong(hex, 16);
    return (v & 0xff)
        + "."
        + ((v >> 8) & 0xff)
        + "."
        + ((v >> 16) & 0xff)
        + "."
        + ((v >> 24) & 0xff);
  }

  private Map<String, Object> power(boolean reboot) {
    Thread t =
        new Thread(
            () -> {
              try {
                Thread.sleep(200); // let the reply reach the host first
                system.power(reboot);
              } catch (Exception ignored) {
                // nothing left to report to
              }
            });
    t.setDaemon(true);
    t.start();
    return Map.of("accepted", true);
  }

  /** The IPv4 addresses (CIDR) on an interface, as {@code ip -o -4 addr show} lists them. */
  private List<String> addresses(String iface) throws IOException {
    GuestSystem.Result r =
        system.run(List.of("ip", "-o", "-4", "addr", "show", "dev", iface), Duration.ofSeconds(30));
    List<String> found = new ArrayList<>();
    for (String line : r.stdout().split("\n")) {
      String[] words = line.trim().split("\\s+");
      for (int i = 0; i + 1 < words.length; i++) {
        if (words[i].equals("inet")) {
          found.add(words[i + 1]);
        }
      }
    }
    return found;
  }

  private void must(List<String> argv) throws AgentException, IOException {
    GuestSystem.Result r = system.run(argv, Duration.ofSeconds(30));
    if (r.exitCode() != 0) {
      throw new AgentException("Failed", String.join(" ", argv) + ": " + r.stderr().strip());
    }
  }

  private String readProc(String path) throws IOException {
    return Files.readString(Path.of("/proc").resolve(path)).trim();
  }
}
