package dev.vmctl.node.storage;

import dev.vmctl.agent.Json;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * LVM thin provisioning (the production default): base images are thin LVs named {@code
 * base-<image>} in the thin pool; a VM's root is a thin snapshot of its base ({@code lvcreate -s}:
 * copy-on-write, instant), its data volume a thin LV formatted ext4 (label vmctl-data). State is
 * read back with {@code lvs --reportformat json}, so every step measures before it acts.
 */
public final class LvmThinStorage implements Storage {
  private final Commands commands;
  private final String vg;
  private final String pool;

  public LvmThinStorage(Commands commands, String vg, String pool) {
    this.commands = commands;
    this.vg = vg;
    this.pool = pool;
  }

  /** One row of {@code lvs --reportformat json}. */
  public record Lv(
      String name, String attr, long sizeBytes, String poolLv, String origin, double dataPercent) {}

  static String rootName(VmPlan plan) {
    return "vm-" + plan.id() + "-root";
  }

  static String dataName(VmPlan plan) {
    return "vm-" + plan.id() + "-data";
  }

  private String device(String lv) {
    return "/dev/" + vg + "/" + lv;
  }

  @Override
  public String driver() {
    return "lvm-thin";
  }

  /** Measures the volume group's logical volumes. */
  public List<Lv> list() throws IOException {
    String json =
        commands.must(
            "lvs",
            "--reportformat",
            "json",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "lv_name,lv_attr,lv_size,pool_lv,origin,data_percent",
            vg);
    return parse(json);
  }

  /** Parses lvs JSON output: {"report":[{"lv":[{"lv_name":...}]}]}. Sizes are plain byte counts. */
  @SuppressWarnings("unchecked")
  public static List<Lv> parse(String json) {
    List<Lv> result = new ArrayList<>();
    Map<String, Object> root = Json.parseObject(json);
    for (Object report : (List<Object>) root.getOrDefault("report", List.of())) {
      for (Object row :
          (List<Object>) ((Map<String, Object>) report).getOrDefault("lv", List.of())) {
        Map<String, Object> lv = (Map<String, Object>) row;
        result.add(
            new Lv(
                str(lv.get("lv_name")),
                str(lv.get("lv_attr")),
                number(lv.get("lv_size")),
                str(lv.get("pool_lv")),
                str(lv.get("origin")),
                lv.get("data_percent") == null || str(lv.get("data_percent")).isEmpty()
                    ? 0
                    : Double.parseDouble(str(lv.get("data_percent")))));
      }
    }
    return result;
  }

  private static String str(Object o) {
    return o == null ? "" : o.toString();
  }

  private static long number(Object o) {
    String s = str(o).replaceAll("[^0-9]", "");
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }

  private Optional<Lv> find(List<Lv> lvs, String name) {
    return lvs.stream().filter(lv -> lv.name().equals(name)).findFirst();
  }

  @Override
  public boolean rootReady(VmPlan plan) throws IOException {
    return find(list(), rootName(plan))
        .filter(lv -> lv.sizeBytes() >= plan.rootDiskBytes())
        .isPresent();
  }

  @Override
  public boolean dataReady(VmPlan plan) throws IOException {
    Optional<Lv> lv = find(list(), dataName(plan));
    return lv.isPresent()
        && lv.get().sizeBytes() >= plan.diskBytes()
        && VolumeLabel.read(commands, device(dataName(plan)))
            .filter(DATA_LABEL::equals)
            .isPresent();
  }

  @Override
  public String ensureRoot(VmPlan plan) throws IOException {
    List<Lv> lvs = list();
    String name = rootName(plan);
    Optional<Lv> existing = find(lvs, name);
    long size;
    if (existing.isPresent()) {
      size = existing.get().sizeBytes();
    } else {
      String base = "base-" + plan.image();
      Lv origin =
          find(lvs, base)
              .orElseThrow(
                  () ->
                      new IOException(
                          "image "
                              + plan.image()
                              + " is not on this host (no LV "
                              + vg
                              + "/"
                              + base
                              + ")"));
      snapshot(base, name);
      size = origin.sizeBytes(); // a snapshot is its origin's size: no lvs to learn it
    }
    // The guest grows its filesystem at boot; a thin LV's new size costs nothing until written.
    growTo(name, size, plan.rootDiskBytes());
    return device(name);
  }

  @Override
  public String ensureData(VmPlan plan) throws IOException {
    List<Lv> lvs = list();
    String name = dataName(plan);
    Optional<Lv> existing = find(lvs, name);
    if (existing.isPresent()) {
      growTo(name, existing.get().sizeBytes(), plan.diskBytes());
      // A blank LV (made by an older daemon that crashed before mkfs): format it, never a used one.
      VolumeLabel.formatIfBlank(commands, device(name));
      return device(name);
    }
    // Made under a temporary name and renamed when whole, so a crash leaves only the -new LV
    // (removed and redone here), never a data volume sharing the template's UUID.
    String fresh = name + "-new";
    removeIfListed(lvs, fresh);
    snapshot(dataTemplate(lvs), fresh);
    growTo(fresh, DataTemplate.SIZE, plan.diskBytes());
    DataTemplate.giveOwnIdentity(commands, device(fresh));
    commands.must("lvrename", vg, fresh, name);
    return device(name);
  }

  /** The pool's formatted empty data volume, made once (see {@link DataTemplate}). */
  private synchronized String dataTemplate(List<Lv> lvs) throws IOException {
    String name = "tmpl-" + DataTemplate.NAME;
    if (find(lvs, name).isPresent()) {
      return name;
    }
    List<Lv> now = list(); // another VM's pass may have made it since lvs was read
    if (find(now, name).isPresent()) {
      return name;
    }
    String fresh = name + "-new";
    removeIfListed(now, fresh);
    commands.must(
        "lvcreate",
        "--thin",
        "--virtualsize",
        DataTemplate.SIZE + "b",
        "--name",
        fresh,
        vg + "/" + pool);
    DataTemplate.format(commands, device(fresh), true);
    commands.must("lvrename", vg, fresh, name);
    return name;
  }

  /** A thin snapshot, activated despite the snapshot's default activation-skip flag. */
  private void snapshot(String origin, String name) throws IOException {
    commands.must(
        "lvcreate",
        "--snapshot",
        "--name",
        name,
        "--setactivationskip",
        "n",
        "--activate",
        "y",
        vg + "/" + origin);
  }

  private void growTo(String name, long size, long wanted) throws IOException {
    if (size < wanted) {
      commands.must("lvextend", "--size", wanted + "b", vg + "/" + name);
    }
  }

  @Override
  public String rootDevice(VmPlan plan) {
    return device(rootName(plan));
  }

  @Override
  public String dataDevice(VmPlan plan) {
    return device(dataName(plan));
  }

  @Override
  public void removeRoot(VmPlan plan) throws IOException {
    removeLv(rootName(plan));
  }

  @Override
  public void removeData(VmPlan plan) throws IOException {
    removeLv(dataName(plan) + "-new");
    removeLv(dataName(plan));
  }

  private void removeLv(String name) throws IOException {
    removeIfListed(list(), name);
  }

  /** Removes an LV that the given measurement lists; an unlisted one is left alone. */
  private void removeIfListed(List<Lv> lvs, String name) throws IOException {
    if (find(lvs, name).isPresent()) {
      commands.must("lvremove", "--yes", vg + "/" + name);
    }
  }

  static String snapshotRoot(String snapshot) {
    return "snap-" + SnapshotNames.checked(snapshot) + "-root";
  }

  static String snapshotData(String snapshot) {
    return "snap-" + SnapshotNames.checked(snapshot) + "-data";
  }

  @Override
  public boolean snapshotReady(String snapshot) throws IOException {
    return snapshotReady(list(), snapshot);
  }

  private boolean snapshotReady(List<Lv> lvs, String snapshot) {
    return find(lvs, snapshotRoot(snapshot)).isPresent()
        && find(lvs, snapshotData(snapshot)).isPresent();
  }

  /**
   * Thin snapshots of both volumes, each made under a -new name and renamed when both exist: a
   * crash leaves a snapshot that is not ready, whose pieces are removed and taken again (from the
   * VM as it is then, paused again by the caller), never half of one paired with a later half.
   */
  @Override
  public long snapshot(VmPlan plan, String snapshot) throws IOException {
    String root = snapshotRoot(snapshot);
    String data = snapshotData(snapshot);
    List<Lv> lvs = list();
    if (!snapshotReady(lvs, snapshot)) {
      if (find(lvs, rootName(plan)).isEmpty() || find(lvs, dataName(plan)).isEmpty()) {
        throw new IOException("VM " + plan.name() + " has no volumes on this host to snapshot");
      }
      for (String leftover : List.of(root + "-new", data + "-new", root, data)) {
        removeIfListed(lvs, leftover);
      }
      snapshot(rootName(plan), root + "-new");
      snapshot(dataName(plan), data + "-new");
      commands.must("lvrename", vg, root + "-new", root);
      commands.must("lvrename", vg, data + "-new", data);
      lvs = list(); // the new LVs' sizes
    }
    // A thin snapshot's data_percent is what its chunks take of its size (shared ones included).
    return lvs.stream()
        .filter(lv -> lv.name().equals(root) || lv.name().equals(data))
        .mapToLong(lv -> (long) (lv.sizeBytes() * lv.dataPercent() / 100))
        .sum();
  }

  @Override
  public void restore(VmPlan plan, String snapshot) throws IOException {
    List<Lv> lvs = list();
    Optional<Lv> root = find(lvs, snapshotRoot(snapshot));
    Optional<Lv> data = find(lvs, snapshotData(snapshot));
    if (root.isEmpty() || data.isEmpty()) {
      throw new IOException("snapshot " + snapshot + " is not on this host");
    }
    if (find(lvs, rootName(plan)).isEmpty()) {
      snapshot(root.get().name(), rootName(plan));
      growTo(rootName(plan), root.get().sizeBytes(), plan.rootDiskBytes());
    }
    if (find(lvs, dataName(plan)).isEmpty()) {
      String fresh = dataName(plan) + "-new";
      removeIfListed(lvs, fresh);
      snapshot(data.get().name(), fresh);
      growTo(fresh, data.get().sizeBytes(), plan.diskBytes());
      commands.must("lvrename", vg, fresh, dataName(plan));
    }
  }

  @Override
  public void removeSnapshot(String snapshot) throws IOException {
    List<Lv> lvs = list();
    String root = snapshotRoot(snapshot);
    String data = snapshotData(snapshot);
    for (String name : List.of(data, root, data + "-new", root + "-new")) {
      removeIfListed(lvs, name);
    }
  }

  @Override
  public List<String> images() throws IOException {
    return list().stream()
        .map(Lv::name)
        .filter(n -> n.startsWith("base-"))
        .map(n -> n.substring("base-".length()))
        .sorted()
        .toList();
  }

  @Override
  public long[] capacity() throws IOException {
    Lv thinPool =
        find(list(), pool)
            .orElseThrow(() -> new IOException("thin pool " + vg + "/" + pool + " not found"));
    long used = (long) (thinPool.sizeBytes() * thinPool.dataPercent() / 100.0);
    return new long[] {thinPool.sizeBytes(), thinPool.sizeBytes() - used};
  }
}
