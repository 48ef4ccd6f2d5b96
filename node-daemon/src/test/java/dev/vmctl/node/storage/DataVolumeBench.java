package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.model.VmPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Data-volume creation (not a test): {@link ReflinkStorage#ensureData} (a clone of the pool's
 * formatted template, grown, its own UUID) against what it replaced (a sparse file formatted with
 * mkfs.ext4), both for 10 GiB volumes on the pool given as {@code -Dpool} (btrfs or XFS). Run with
 * hack/bench-node.sh (as root).
 */
public final class DataVolumeBench {
  public static void main(String[] args) throws Exception {
    Path pool = Path.of(System.getProperty("pool"));
    int n = Integer.parseInt(System.getProperty("volumes", "20"));
    long size = 10L << 30;
    Commands commands = new ProcessCommands();
    ReflinkStorage storage = new ReflinkStorage(pool, commands, "btrfs");
    long t = System.nanoTime();
    storage.dataTemplate();
    System.out.printf(
        "data volume template, made once per pool: %.1f ms%n", (System.nanoTime() - t) / 1e6);

    List<Double> clone = new ArrayList<>();
    List<Double> mkfs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      VmPlan plan = plan(pool, "c" + i, size);
      t = System.nanoTime();
      storage.ensureData(plan);
      clone.add((System.nanoTime() - t) / 1e6);

      Path file = pool.resolve("mkfs-" + i + ".img");
      t = System.nanoTime();
      commands.must("truncate", "-s", Long.toString(size), file.toString());
      VolumeLabel.formatIfBlank(commands, file.toString()); // the old path: mkfs.ext4, lazy init
      mkfs.add((System.nanoTime() - t) / 1e6);
    }
    print("data volume, clone of the template + grow + new UUID (ensureData)", clone);
    print("data volume, truncate + mkfs.ext4 (before)", mkfs);
    for (int i = 0; i < n; i++) {
      storage.removeData(plan(pool, "c" + i, size));
      Files.deleteIfExists(pool.resolve("mkfs-" + i + ".img"));
    }
  }

  static void print(String what, List<Double> ms) {
    List<Double> sorted = new ArrayList<>(ms);
    Collections.sort(sorted);
    System.out.printf(
        "%s, 10 GiB, %d volumes: p50 %.1f ms, p90 %.1f ms, min %.1f ms, max %.1f ms%n",
        what,
        sorted.size(),
        sorted.get(sorted.size() / 2),
        sorted.get((int) Math.ceil(sorted.size() * 0.9) - 1),
        sorted.get(0),
        sorted.get(sorted.size() - 1));
  }

  static VmPlan plan(Path pool, String id, long disk) {
    return new VmPlan(
        id,
        id,
        "bench",
        pool.resolve("vms").resolve(id),
        "debian-12",
        1,
        1,
        1L << 30,
        1L << 30,
        disk,
        "vt" + id,
        "52:54:00:00:00:01",
        "10.0.0.2",
        "10.0.0.1",
        24,
        3);
  }
}
