package dev.vmctl.https;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The gateway's domain as configured ({@code vm.localhost:8443}): the host part routes and scopes
 * cookies, the full value builds URLs.
 *
 * @param host lower-case host part, e.g. {@code vm.localhost}
 * @param full the configured value including any port, e.g. {@code vm.localhost:8443}
 */
public record Domain(String host, String full) {
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  public static Domain parse(String value) {
    String full = value.trim().toLowerCase(Locale.ROOT);
    String host = hostOf(full);
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("VMCTL_DOMAIN is not a host name: " + value);
    }
    return new Domain(host, full);
  }

  /** The lower-case host of a Host header without its port; null when it is not a DNS name. */
  public static String hostOf(String hostHeader) {
    if (hostHeader == null) {
      return null;
    }
    String h = hostHeader.trim().toLowerCase(Locale.ROOT);
    int colon = h.indexOf(':');
    if (colon >= 0) {
      String port = h.substring(colon + 1);
      if (!port.matches("[0-9]{1,5}")) {
        return null;
      }
      h = h.substring(0, colon);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (h.isEmpty() || h.length() > 253) {
      return null;
    }
    for (String label : h.split("\\.", -1)) {
      if (!LABEL.matcher(label).matches()) {
        return null;
      }
    }
    return h;
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
