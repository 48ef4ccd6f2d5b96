package dev.vmctl.node.storage;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.util.List;

/** A VM's volumes: a copy-on-write root cloned from a base image and a persistent data volume. */
public interface Storage {
  /** lvm-thin, btrfs or reflink. */
  String driver();

  /** Measures, then creates the root clone if it is missing. Returns the block device/file. */
  String ensureRoot(VmPlan plan) throws IOException;

  /** Measures, then creates (and formats, labelled vmctl-data) or grows the data volume. */
  String ensureData(VmPlan plan) throws IOException;

  /** Removes both volumes; absent ones are fine. */
  void remove(VmPlan plan) throws IOException;

  /** Base images present (by name). */
  List<String> images() throws IOException;

  /** Pool size and free bytes. */
  long[] capacity() throws IOException;
}
