package dev.vmctl.operator.model;

/**
 * What is reserved on one host: the VMs' amounts and how many of them hold CPU and memory (each of
 * those also needs the host's per-VM memory overhead, which is the host's figure and so is applied
 * when deciding, not stored: a rebuilt ledger gives the same answer).
 */
public record HostLoad(Amounts reserved, int holding) {
  public static final HostLoad NONE = new HostLoad(Amounts.ZERO, 0);

  /** One VM's reservation. */
  public static HostLoad of(Amounts amounts) {
    return new HostLoad(amounts, amounts.holdsCpuAndMemory() ? 1 : 0);
  }

  public HostLoad plus(HostLoad o) {
    return new HostLoad(reserved.plus(o.reserved), holding + o.holding);
  }

  public HostLoad minus(HostLoad o) {
    return new HostLoad(reserved.minus(o.reserved), holding - o.holding);
  }

  /** Everything taken on a host whose per-VM overhead is {@code vmMemoryOverhead}. */
  public Amounts used(long vmMemoryOverhead) {
    return reserved.plusMemory(holding * vmMemoryOverhead);
  }
}
