package dev.vmctl.https.tls;

import java.util.List;
import java.util.Locale;

/** Which certificate names cover a TLS server name (RFC 6125: a wildcard spans one label). */
public final class ServerNames {
  private ServerNames() {}

  /** True when {@code pattern} ({@code host} or {@code *.domain}) covers {@code serverName}. */
  public static boolean covers(String pattern, String serverName) {
    String name = serverName.toLowerCase(Locale.ROOT);
    String p = pattern.toLowerCase(Locale.ROOT);
    if (!p.startsWith("*.")) {
      return p.equals(name);
    }
    int dot = name.indexOf('.');
    return dot > 0 && name.substring(dot + 1).equals(p.substring(2));
  }

  public static boolean coversAny(List<String> patterns, String serverName) {
    return patterns.stream().anyMatch(p -> covers(p, serverName));
  }
}
