package dev.vmctl.node.steps;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The size the VM's current boot has, in its state directory ({@code booted-with}); the file's time
 * is when the boot started. Both survive daemon restarts.
 */
public final class BootRecord {
  private BootRecord() {}

  private static Path file(VmPlan plan) {
    return plan.dir().resolve("booted-with");
  }

  /** The recorded size, or null when the VM has not been booted by vmctl. */
  public static String size(VmPlan plan) throws IOException {
    return read(file(plan));
  }

  public static void write(VmPlan plan, String size) throws IOException {
    Files.writeString(file(plan), size);
  }

  private static Path disksFile(VmPlan plan) {
    return plan.dir().resolve("booted-disks");
  }

  /** The volume sizes the current boot saw, or null when unknown (booted by an older daemon). */
  public static String disks(VmPlan plan) throws IOException {
    return read(disksFile(plan));
  }

  private static String read(Path record) throws IOException {
    return Files.exists(record) ? Files.readString(record) : null;
  }

  public static void writeDisks(VmPlan plan, String disks) throws IOException {
    Files.writeString(disksFile(plan), disks);
  }

  /** When the current boot started, or {@code fallback} when unknown. */
  public static Instant started(VmPlan plan, Instant fallback) {
    try {
      return Files.getLastModifiedTime(file(plan)).toInstant();
    } catch (IOException e) {
      return fallback;
    }
  }

  /** Keeps the boot's start time when a live resize rewrites the size. */
  public static void rewrite(VmPlan plan, String size) throws IOException {
    var started = Files.getLastModifiedTime(file(plan));
    write(plan, size);
    Files.setLastModifiedTime(file(plan), started);
  }
}
