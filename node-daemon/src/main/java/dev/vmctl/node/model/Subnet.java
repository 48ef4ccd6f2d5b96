package dev.vmctl.node.model;

import java.util.Set;

/** An IPv4 subnet in CIDR form; the first host address is the bridge (the VMs' gateway). */
public record Subnet(long network, int prefix) {

  public static Subnet parse(String cidr) {
    String[] parts = cidr.split("/");
    if (parts.length != 2) {
      throw new IllegalArgumentException("not a CIDR: " + cidr);
    }
    int prefix = Integer.parseInt(parts[1]);
    if (prefix < 8 || prefix > 30) {
      throw new IllegalArgumentException("prefix must be between /8 and /30: " + cidr);
    }
    long address = toLong(parts[0]);
    long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
    return new Subnet(address & mask, prefix);
  }

  public String gateway() {
    return toString(network + 1);
  }

  public String cidr() {
    return toString(network) + "/" + prefix;
  }

  /** The lowest host address that is neither the gateway, the broadcast nor in use. */
  public String firstFree(Set<String> used) {
    long size = 1L << (32 - prefix);
    for (long host = 2; host < size - 1; host++) {
      String candidate = toString(network + host);
      if (!used.contains(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("subnet " + cidr() + " has no free address");
  }

  public boolean contains(String ip) {
    long mask = (0xffffffffL << (32 - prefix)) & 0xffffffffL;
    return (toLong(ip) & mask) == network;
  }

  static long toLong(String ip) {
    String[] o = ip.split("\\.");
    if (o.length != 4) {
      throw new IllegalArgumentException("not an IPv4 address: " + ip);
    }
    long v = 0;
    for (String part : o) {
      int b = Integer.parseInt(part);
      if (b < 0 || b > 255) {
        throw new IllegalArgumentException("not an IPv4 address: " + ip);
      }
      v = (v << 8) | b;
    }
    return v;
  }

  static String toString(long v) {
    return ((v >> 24) & 0xff)
        + "."
        + ((v >> 16) & 0xff)
        + "."
        + ((v >> 8) & 0xff)
        + "."
        + (v & 0xff);
  }
}
