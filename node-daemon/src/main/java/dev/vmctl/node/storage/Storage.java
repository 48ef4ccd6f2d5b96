package dev.vmctl.node.storage;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.util.List;

/**
 * A VM's volumes: a copy-on-write root cloned from a base image and a persistent data volume. Each
 * volume has a measure ({@code …Ready}, also the verify after creating), an apply ({@code ensure…})
 * and a remove, so the node daemon's steps can check what a crash left behind.
 */
public interface Storage {
  /** The label of a data volume's ext4 filesystem; anything else on the volume is not touched. */
  String DATA_LABEL = "vmctl-data";

  /** lvm-thin, btrfs or reflink. */
  String driver();

  /** Measures: the root clone exists. */
  boolean rootReady(VmPlan plan) throws IOException;

  /** Measures, then creates the root clone if it is missing. Returns the block device/file. */
  String ensureRoot(VmPlan plan) throws IOException;

  /**
   * Measures: the data volume exists, is at least the planned size and carries the ext4 filesystem
   * labelled {@value #DATA_LABEL} (a crash between creating and formatting leaves a volume that
   * exists but is not ready).
   */
  boolean dataReady(VmPlan plan) throws IOException;

  /**
   * Measures, then creates, formats (a volume with no filesystem at all) or grows the data volume.
   * A volume carrying some other filesystem is refused, never formatted: it may hold someone's
   * data.
   */
  String ensureData(VmPlan plan) throws IOException;

  /** The root volume's block device or file, by name only (no I/O). */
  String rootDevice(VmPlan plan);

  /** The data volume's block device or file, by name only (no I/O). */
  String dataDevice(VmPlan plan);

  /** Removes the root clone; an absent one is fine. */
  void removeRoot(VmPlan plan) throws IOException;

  /** Removes the data volume; an absent one is fine. */
  void removeData(VmPlan plan) throws IOException;

  /** Removes both volumes; absent ones are fine. */
  default void remove(VmPlan plan) throws IOException {
    removeData(plan);
    removeRoot(plan);
  }

  /**
   * Measures: the snapshot's volumes are complete on this host (a crash while taking one leaves
   * only a partial copy that is not ready and is redone).
   */
  default boolean snapshotReady(String snapshot) throws IOException {
    return false;
  }

  /**
   * Copy-on-write copies of the VM's root and data volumes under the snapshot's name; the caller
   * has paused or stopped the VM, so the copy is crash-consistent. Measures first: a ready snapshot
   * is kept as it is. Returns the bytes the snapshot holds of its own.
   */
  default long snapshot(VmPlan plan, String snapshot) throws IOException {
    throw new IOException("the " + driver() + " storage driver cannot take snapshots yet");
  }

  /**
   * Measures, then makes the VM's root and data volumes copy-on-write clones of a snapshot's (for a
   * VM started from one, before its first boot); volumes that exist are left alone.
   */
  default void restore(VmPlan plan, String snapshot) throws IOException {
    throw new IOException("the " + driver() + " storage driver cannot restore snapshots yet");
  }

  /** Removes a snapshot's volumes; an absent one is fine. */
  default void removeSnapshot(String snapshot) throws IOException {}

  /** Base images present (by name). */
  List<String> images() throws IOException;

  /** Pool size and free bytes. */
  long[] capacity() throws IOException;
}
