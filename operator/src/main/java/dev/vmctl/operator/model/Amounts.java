package dev.vmctl.operator.model;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;

/** CPUs, memory bytes and disk bytes: what a VM needs, a host offers or a quota allows. */
public record Amounts(long cpus, long memory, long disk) {
  public static final Amounts ZERO = new Amounts(0, 0, 0);

  public Amounts plus(Amounts o) {
    return new Amounts(cpus + o.cpus, memory + o.memory, disk + o.disk);
  }

  public Amounts minus(Amounts o) {
    return new Amounts(cpus - o.cpus, memory - o.memory, disk - o.disk);
  }

  public boolean fitsIn(Amounts room) {
    return cpus <= room.cpus && memory <= room.memory && disk <= room.disk;
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
