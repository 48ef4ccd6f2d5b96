package dev.vmctl.operator.model;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;

/**
 * vCPUs, memory bytes and disk bytes: what a VM needs, a host offers or a quota allows. A VM's disk
 * is its data volume and {@code rootDisk} its root volume; hosts and quotas have one pool for both
 * ({@code rootDisk} 0), so every comparison uses {@link #storage()}, the two together.
 */
public record Amounts(long cpus, long memory, long disk, long rootDisk) {
  public static final Amounts ZERO = new Amounts(0, 0, 0, 0);

  /** Amounts of a host or a quota, or of a VM without a root volume of its own. */
  public Amounts(long cpus, long memory, long disk) {
    this(cpus, memory, disk, 0);
  }

  /** Root and data volumes together: what the storage pool or the quota's disk is charged. */
  public long storage() {
    return disk + rootDisk;
  }

  /** Whether these amounts hold CPU and memory (a VM that was stopped holds only its disks). */
  public boolean holdsCpuAndMemory() {
    return cpus > 0 || memory > 0;
  }

  /** The same disks without CPU and memory: what a stopped VM keeps. */
  public Amounts disksOnly() {
    return new Amounts(0, 0, disk, rootDisk);
  }

  public Amounts plus(Amounts o) {
    return new Amounts(cpus + o.cpus, memory + o.memory, disk + o.disk, rootDisk + o.rootDisk);
  }

  public Amounts minus(Amounts o) {
    return new Amounts(cpus - o.cpus, memory - o.memory, disk - o.disk, rootDisk - o.rootDisk);
  }

  public Amounts plusMemory(long bytes) {
    return new Amounts(cpus, memory + bytes, disk, rootDisk);
  }

  public boolean fitsIn(Amounts room) {
    return cpus <= room.cpus && memory <= room.memory && storage() <= room.storage();
  }

  /** Bytes of a Kubernetes quantity string; 0 for null. Throws on malformed input. */
  public static long bytes(String quantity) {
    if (quantity == null || quantity.isBlank()) {
      return 0;
    }
    BigDecimal amount = Quantity.getAmountInBytes(new Quantity(quantity));
    return amount.setScale(0, java.math.RoundingMode.CEILING).longValueExact();
  }

  /** A short human form: 8Gi, 512Mi, 1.5Gi. */
  public static String human(long bytes) {
    String[] units = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    double value = bytes;
    int unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    String number =
        value == Math.rint(value)
            ? String.valueOf((long) value)
            : String.format(java.util.Locale.ROOT, "%.1f", value);
    return number + units[unit];
  }

  /** A quantity string Kubernetes accepts, exact. */
  public static String quantity(long bytes) {
    String[] units = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    int unit = 0;
    long value = bytes;
    while (value != 0 && value % 1024 == 0 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return value + units[unit];
  }
}
