package dev.vmctl.node.host.cgroup;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VM cgroups in the host's hierarchies under a cgroup root (the host's {@code /sys/fs/cgroup},
 * hostPath-mounted into the node-daemon pod): {@code <hierarchy>/<parent>/<vm-id>} in every
 * hierarchy found there, so a VM's processes leave the pod's cgroup everywhere the kubelet put it.
 * cgroup v2 (unified at the root) and v1 (one directory per hierarchy: memory, cpu or cpu,cpuacct,
 * pids, ..., and a v2 {@code unified} beside them on hybrid hosts) are both handled: the memory
 * limit goes to {@code memory.max} (v2) or {@code memory.limit_in_bytes} (v1), the CPU weight to
 * {@code cpu.weight} (v2) or {@code cpu.shares} (v1), wherever that controller is available. A
 * cgroup is a directory: made with mkdir, removed with rmdir once empty.
 */
public final class HostCgroups implements VmCgroup {
  private static final Logger log = LoggerFactory.getLogger(HostCgroups.class);
  private static final Duration EMPTY_WAIT = Duration.ofSeconds(10);

  /** One mounted hierarchy and the controllers a VM's cgroup gets in it. */
  record Hierarchy(Path path, boolean v2, Set<String> controllers) {
    boolean has(String controller) {
      return controllers.contains(controller);
    }
  }

  private final List<Hierarchy> hierarchies;
  private final String parent;
  private final long overheadBytes;
  private final Path hostNamespace;

  /**
   * @param hostNamespace the cgroup namespace launches enter to join (nsenter --cgroup), or null to
   *     join from their own
   */
  HostCgroups(List<Hierarchy> hierarchies, String parent, long overheadBytes, Path hostNamespace) {
    this.hierarchies = List.copyOf(hierarchies);
    this.parent = parent;
    this.overheadBytes = overheadBytes;
    this.hostNamespace = hostNamespace;
  }

  /**
   * The VM cgroups under {@code root}, or {@link VmCgroup#NONE} (said once in the log) when the
   * root is unset, absent, holds no cgroup hierarchy or cannot be written (an unprivileged run).
   * Makes the parent cgroup in every hierarchy and, on cgroup v2, enables the memory and cpu
   * controllers for its children where the root offers them.
   */
  public static VmCgroup detect(Path root, String parent, long overheadBytes) {
    if (root == null || root.toString().isBlank()) {
      log.info("VM cgroups off (VMCTL_CGROUP_ROOT is empty): hypervisors stay in this cgroup");
      return NONE;
    }
    List<Hierarchy> found;
    try {
      found = discover(root);
    } catch (IOException e) {
      found = List.of();
    }
    if (found.isEmpty()) {
      log.warn(
          "VM cgroups off: no cgroup hierarchy under {}; hypervisors stay in this process's"
              + " cgroup (and die with it)",
          root);
      return NONE;
    }
    List<Hierarchy> usable = new ArrayList<>();
    for (Hierarchy h : found) {
      try {
        usable.add(prepareParent(h, parent));
      } catch (IOException e) {
        log.warn("VM cgroups: cannot use {} ({})", h.path().resolve(parent), e.toString());
      }
    }
    if (usable.isEmpty()) {
      log.warn(
          "VM cgroups off: {} is not writable; hypervisors stay in this process's cgroup (and"
              + " die with it)",
          root);
      return NONE;
    }
    boolean viaHost = inPrivateCgroupNamespace();
    if (viaHost) {
      log.info(
          "VM cgroups: this process has a cgroup namespace of its own; launches join the VM's"
              + " cgroup through the host's (nsenter --cgroup={})",
          HOST_CGROUP_NS);
    }
    HostCgroups cgroups =
        new HostCgroups(usable, parent, overheadBytes, viaHost ? HOST_CGROUP_NS : null);
    cgroups.logControllers();
    return cgroups;
  }

  static final Path HOST_CGROUP_NS = Path.of("/proc/1/ns/cgroup");

  /**
   * True when PID 1 (the host's init in a hostPID pod) is in another cgroup namespace: containers
   * on cgroup v2 get one of their own, and where the hierarchy is mounted with {@code nsdelegate}
   * (systemd does) a process may not be moved to a cgroup outside its namespace.
   */
  static boolean inPrivateCgroupNamespace() {
    try {
      return !Files.readSymbolicLink(Path.of("/proc/self/ns/cgroup"))
          .equals(Files.readSymbolicLink(HOST_CGROUP_NS));
    } catch (IOException | UnsupportedOperationException e) {
      return false; // not visible (no hostPID): nothing better to do than join directly
    }
  }

  /** The hierarchies under a cgroup root: the root itself on a pure v2 host, else its children. */
  static List<Hierarchy> discover(Path root) throws IOException {
    if (Files.exists(root.resolve("cgroup.controllers"))) {
      return List.of(new Hierarchy(root, true, words(root.resolve("cgroup.controllers"))));
    }
    Map<Path, Hierarchy> byRealPath = new LinkedHashMap<>();
    try (DirectoryStream<Path> children = Files.newDirectoryStream(root)) {
      List<Path> sorted = new ArrayList<>();
      children.forEach(sorted::add);
      sorted.sort(null);
      for (Path child : sorted) {
        if (!Files.exists(child.resolve("cgroup.procs"))) {
          continue;
        }
        Path real = child.toRealPath(); // cpu and cpuacct are often links to cpu,cpuacct
        if (byRealPath.containsKey(real)) {
          continue;
        }
        boolean v2 = Files.exists(child.resolve("cgroup.controllers"));
        Set<String> controllers = v2 ? words(child.resolve("cgroup.controllers")) : v1(child);
        byRealPath.put(real, new Hierarchy(child, v2, controllers));
      }
    }
    return List.copyOf(byRealPath.values());
  }

  /** The controllers of a v1 hierarchy that vmctl writes to, known by their files. */
  private static Set<String> v1(Path hierarchy) {
    Set<String> controllers = new LinkedHashSet<>();
    if (Files.exists(hierarchy.resolve("memory.limit_in_bytes"))) {
      controllers.add("memory");
    }
    if (Files.exists(hierarchy.resolve("cpu.shares"))) {
      controllers.add("cpu");
    }
    if (Files.exists(hierarchy.resolve("cpuset.cpus"))) {
      controllers.add("cpuset");
    }
    // The root of a v1 pids hierarchy has no pids.max of its own: known by its name.
    if (Files.exists(hierarchy.resolve("pids.max"))
        || List.of(hierarchy.getFileName().toString().split(",")).contains("pids")) {
      controllers.add("pids");
    }
    return controllers;
  }

  /**
   * Makes the parent cgroup; on v2 enables memory and cpu for its children where the root offers
   * them. Returns the hierarchy with the controllers a VM's cgroup gets.
   */
  private static Hierarchy prepareParent(Hierarchy h, String parent) throws IOException {
    Path dir = h.path().resolve(parent);
    Files.createDirectories(dir);
    if (!h.v2()) {
      if (h.has("cpuset")) {
        inheritCpuset(dir);
      }
      if (h.has("cpu")) {
        writeIfDifferent(dir.resolve("cpu.shares"), "" + parentWeight(1024, 262_144));
      }
      return h;
    }
    Set<String> enabled = new LinkedHashSet<>();
    for (String c : List.of("memory", "cpu", "pids")) {
      if (!h.has(c)) {
        continue; // not offered at the root (bound to a v1 hierarchy, or not in the kernel)
      }
      try {
        enable(h.path(), c);
        enable(dir, c);
        enabled.add(c);
        if (c.equals("cpu")) {
          writeIfDifferent(dir.resolve("cpu.weight"), "" + parentWeight(100, 10_000));
        }
      } catch (IOException e) {
        log.warn("VM cgroups: cannot enable the {} controller under {} ({})", c, dir, e.toString());
      }
    }
    return new Hierarchy(h.path(), true, enabled);
  }

  /**
   * The parent's CPU weight: the default per host CPU, as the kubelet gives its {@code kubepods}
   * cgroup per allocatable CPU. With the default of one cgroup, all VMs together would weigh as
   * much as a single process beside them.
   */
  static long parentWeight(long perCpu, long max) {
    return Math.min(max, perCpu * hostCpus());
  }

  /** Online CPUs of the host ({@code /sys/devices/system/cpu/online}, e.g. "0-3,6"). */
  static int hostCpus() {
    try {
      int n = 0;
      for (String range :
          Files.readString(Path.of("/sys/devices/system/cpu/online")).strip().split(",")) {
        String[] ends = range.split("-");
        n += ends.length == 1 ? 1 : Integer.parseInt(ends[1]) - Integer.parseInt(ends[0]) + 1;
      }
      return Math.max(1, n);
    } catch (IOException | RuntimeException e) {
      return Runtime.getRuntime().availableProcessors();
    }
  }

  private static void writeIfDifferent(Path file, String value) throws IOException {
    if (!value.equals(read(file))) {
      Files.writeString(file, value);
    }
  }

  private static void enable(Path cgroup, String controller) throws IOException {
    Path control = cgroup.resolve("cgroup.subtree_control");
    if (!words(control).contains(controller)) {
      Files.writeString(control, "+" + controller);
    }
  }

  /** A new v1 cpuset cgroup has no CPUs and no memory nodes: nothing could join it. */
  private static void inheritCpuset(Path dir) throws IOException {
    for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
      if (read(dir.resolve(f)).isEmpty()) {
        Files.writeString(dir.resolve(f), read(dir.getParent().resolve(f)));
      }
    }
  }

  private void logControllers() {
    String where =
        hierarchies.stream().map(h -> h.path().toString()).collect(Collectors.joining(", "));
    log.info("VM cgroups: {}/<vm-id> in {}", parent, where);
    for (String c : List.of("memory", "cpu")) {
      List<String> with =
          hierarchies.stream()
              .filter(h -> h.has(c))
              .map(h -> h.path() + (h.v2() ? " (v2)" : " (v1)"))
              .toList();
      if (with.isEmpty()) {
        log.warn(
            "VM cgroups: the {} controller is unavailable in every hierarchy; VM {} are not"
                + " applied",
            c,
            c.equals("memory") ? "memory limits" : "CPU weights");
      } else {
        log.info("VM cgroups: {} controller in {}", c, String.join(", ", with));
      }
    }
  }

  /** The VM's cgroup directory in each hierarchy. */
  List<Path> dirs(VmPlan plan) {
    return hierarchies.stream().map(h -> dir(h, plan)).toList();
  }

  List<Hierarchy> hierarchies() {
    return hierarchies;
  }

  private Path dir(Hierarchy h, VmPlan plan) {
    return h.path().resolve(parent).resolve(plan.id());
  }

  public CgroupLimits limits(VmPlan plan) {
    return CgroupLimits.of(plan, overheadBytes);
  }

  /** Each limit file of one hierarchy and the value it should hold. */
  private Map<String, String> wanted(Hierarchy h, CgroupLimits limits) {
    Map<String, String> files = new LinkedHashMap<>();
    if (h.has("memory")) {
      files.put(h.v2() ? "memory.max" : "memory.limit_in_bytes", "" + limits.memoryBytes());
    }
    if (h.has("cpu")) {
      files.put(
          h.v2() ? "cpu.weight" : "cpu.shares",
          "" + (h.v2() ? limits.cpuWeight() : limits.cpuShares()));
    }
    if (h.has("pids")) {
      files.put("pids.max", "" + limits.pidsMax());
    }
    return files;
  }

  @Override
  public boolean needed(VmPlan plan) throws IOException {
    return !problems(plan, List.of()).isEmpty();
  }

  @Override
  public void apply(VmPlan plan) throws IOException {
    CgroupLimits limits = limits(plan);
    for (Hierarchy h : hierarchies) {
      Path dir = dir(h, plan);
      Files.createDirectories(dir);
      if (!h.v2() && h.has("cpuset")) {
        inheritCpuset(dir);
      }
      for (Map.Entry<String, String> f : wanted(h, limits).entrySet()) {
        writeIfDifferent(dir.resolve(f.getKey()), f.getValue());
      }
    }
  }

  @Override
  public String joinCommand(VmPlan plan) {
    if (hostNamespace == null) {
      return "{ " + moves("$$", plan) + "; } || exit 1; ";
    }
    // A child in the host's cgroup namespace moves this shell (its parent) there.
    return "nsenter --cgroup="
        + hostNamespace
        + " sh -c "
        + quote(moves("$PPID", plan))
        + " || exit 1; ";
  }

  private String moves(String pid, VmPlan plan) {
    return dirs(plan).stream()
        .map(d -> "echo " + pid + " >" + quote(d.resolve("cgroup.procs").toString()))
        .collect(Collectors.joining(" && "));
  }

  @Override
  public void verify(VmPlan plan, Collection<Long> pids) throws IOException {
    List<String> problems = problems(plan, pids);
    if (!problems.isEmpty()) {
      throw new IOException("VM cgroup of " + plan.name() + ": " + String.join("; ", problems));
    }
  }

  private List<String> problems(VmPlan plan, Collection<Long> pids) throws IOException {
    List<String> problems = new ArrayList<>();
    CgroupLimits limits = limits(plan);
    for (Hierarchy h : hierarchies) {
      Path dir = dir(h, plan);
      if (!Files.isDirectory(dir)) {
        problems.add(dir + " is missing");
        continue;
      }
      for (Map.Entry<String, String> f : wanted(h, limits).entrySet()) {
        String actual = read(dir.resolve(f.getKey()));
        if (!f.getValue().equals(actual)) {
          problems.add(dir.resolve(f.getKey()) + " is " + actual + ", not " + f.getValue());
        }
      }
      if (!pids.isEmpty()) {
        Set<Long> in = procs(dir);
        for (long pid : pids) {
          if (!in.contains(pid)) {
            problems.add("process " + pid + " is not in " + dir);
          }
        }
      }
    }
    return problems;
  }

  @Override
  public void remove(VmPlan plan) throws IOException {
    Instant deadline = Instant.now().plus(EMPTY_WAIT);
    for (Path dir : dirs(plan)) {
      while (Files.isDirectory(dir)) {
        try {
          Files.delete(dir); // rmdir: refused (EBUSY) while a process is in it
        } catch (NoSuchFileException e) {
          break;
        } catch (IOException e) {
          Set<Long> left = Files.isDirectory(dir) ? procs(dir) : Set.of();
          if (Instant.now().isAfter(deadline)) {
            throw new IOException(
                dir + " still holds processes " + left + " after they were stopped", e);
          }
          sleep(20);
        }
      }
    }
  }

  private static Set<Long> procs(Path dir) throws IOException {
    Set<Long> pids = new LinkedHashSet<>();
    try {
      for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
        if (!line.isBlank()) {
          pids.add(Long.parseLong(line.strip()));
        }
      }
    } catch (NoSuchFileException e) {
      // removed meanwhile
    }
    return pids;
  }

  private static Set<String> words(Path file) throws IOException {
    String text = read(file);
    return text.isEmpty() ? Set.of() : new LinkedHashSet<>(List.of(text.split("\\s+")));
  }

  private static String read(Path file) throws IOException {
    try {
      return Files.readString(file).strip();
    } catch (NoSuchFileException e) {
      return "";
    }
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "VM cgroups " + parent + "/<vm-id> in " + dirsOf();
  }

  private String dirsOf() {
    return hierarchies.stream().map(h -> h.path().toString()).collect(Collectors.joining(", "));
  }
}
