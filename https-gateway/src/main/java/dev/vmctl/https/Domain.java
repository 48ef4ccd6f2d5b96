package dev.vmctl.https;

import java.util.Locale;
import java.util.Optional;

/**
 * The gateway's domain as configured ({@code vm.localhost:8443}): the host part routes and scopes
 * cookies, the full value builds URLs.
 *
 * @param host lower-case host part, e.g. {@code vm.localhost}
 * @param full the configured value including any port, e.g. {@code vm.localhost:8443}
 */
public record Domain(String host, String full) {

  public static Domain parse(String value) {
    String full = value.trim().toLowerCase(Locale.ROOT);
    String host = hostOf(full);
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("VMCTL_DOMAIN is not a host name: " + value);
    }
    return new Domain(host, full);
  }

  /**
   * The lower-case host of a Host header without its port; null when it is not a DNS name (labels
   * of 1-63 letters, digits and inner hyphens, 253 characters at most, an optional trailing dot).
   * Runs on every request: one pass over the characters, no regex, no split.
   */
  public static String hostOf(String hostHeader) {
    if (hostHeader == null) {
      return null;
    }
    String h = hostHeader.trim();
    int end = h.indexOf(':');
    if (end >= 0 && !isPort(h, end + 1)) {
      return null;
    }
    if (end < 0) {
      end = h.length();
    }
    if (end > 0 && h.charAt(end - 1) == '.') {
      end--;
    }
    if (end == 0 || end > 253) {
      return null;
    }
    int labelStart = 0;
    for (int i = 0; i <= end; i++) {
      char c = i == end ? '.' : h.charAt(i);
      if (c == '.') {
        int length = i - labelStart;
        if (length < 1 || length > 63 || h.charAt(labelStart) == '-' || h.charAt(i - 1) == '-') {
          return null;
        }
        labelStart = i + 1;
      } else if (!(c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '-')) {
        return null;
      }
    }
    return h.substring(0, end).toLowerCase(Locale.ROOT);
  }

  private static boolean isPort(String h, int from) {
    int digits = h.length() - from;
    if (digits < 1 || digits > 5) {
      return false;
    }
    for (int i = from; i < h.length(); i++) {
      if (h.charAt(i) < '0' || h.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code host} (already normalised) is the bare domain. */
  public boolean isBare(String host) {
    return this.host.equals(host);
  }

  /** The VM name for {@code <vm>.<domain>}; empty for the bare domain, deeper names or others. */
  public Optional<String> vmName(String host) {
    if (host == null || !host.endsWith("." + this.host)) {
      return Optional.empty();
    }
    String label = host.substring(0, host.length() - this.host.length() - 1);
    return label.contains(".") ? Optional.empty() : Optional.of(label);
  }

  /** Whether {@code host} is the domain or one of its subdomains (for redirect targets). */
  public boolean covers(String host) {
    return host != null && (host.equals(this.host) || host.endsWith("." + this.host));
  }

  /** {@code :8443} when the configured domain carries a port, else empty. */
  public String portSuffix() {
    int colon = full.indexOf(':');
    return colon < 0 ? "" : full.substring(colon);
  }

  public String landingUrl() {
    return "https://" + full + "/";
  }

  public String vmUrl(String vm) {
    return "https://" + vm + "." + full + "/";
  }
}
