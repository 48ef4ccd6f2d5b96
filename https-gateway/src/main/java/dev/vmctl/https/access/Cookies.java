package dev.vmctl.https.access;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Cookie rules for the gateway's own cookies and for what reaches (and comes from) VMs. */
public final class Cookies {
  public static final String SESSION = "vmctl_session";
  public static final String LINK = "vmctl_link";
  private static final String PREFIX = "vmctl_";

  private Cookies() {}

  /** Name → value of every cookie in the request's Cookie headers (first occurrence wins). */
  public static Map<String, String> parse(List<String> cookieHeaders) {
    Map<String, String> cookies = new LinkedHashMap<>();
    for (String header : cookieHeaders) {
      for (String pair : header.split(";")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          cookies.putIfAbsent(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
      }
    }
    return cookies;
  }

  /**
   * The Cookie header to forward to a VM: every cookie except the gateway's own {@code vmctl_*}
   * ones, or null when nothing is left.
   */
  public static String forBackend(List<String> cookieHeaders) {
    List<String> kept = new ArrayList<>();
    for (String header : cookieHeaders) {
      for (String pair : header.split(";")) {
        String trimmed = pair.trim();
        if (!trimmed.isEmpty() && !isGatewayCookie(trimmed)) {
          kept.add(trimmed);
        }
      }
    }
    return kept.isEmpty() ? null : String.join("; ", kept);
  }

  /**
   * Whether a VM's {@code Set-Cookie} may reach the browser: never for a {@code vmctl_*} name, and
   * a {@code Domain} attribute is allowed only for the VM's own host (no cookie tossing onto the
   * parent domain or sibling VMs).
   */
  public static boolean backendMaySet(String setCookie, String vmHost) {
    String[] parts = setCookie.split(";");
    if (isGatewayCookie(parts[0].trim())) {
      return false;
    }
    for (int i = 1; i < parts.length; i++) {
      String attribute = parts[i].trim();
      int eq = attribute.indexOf('=');
      String name = (eq < 0 ? attribute : attribute.substring(0, eq)).trim();
      if (name.equalsIgnoreCase("domain")) {
        String domain = attribute.substring(eq + 1).trim().toLowerCase(Locale.ROOT);
        if (domain.startsWith(".")) {
          domain = domain.substring(1);
        }
        if (!domain.equals(vmHost)) {
          return false;
        }
      }
    }
    return true;
  }

  /** The session cookie for the whole domain (every VM subdomain gets it; stripped before VMs). */
  public static String session(String token, String domainHost, long maxAgeSeconds) {
    return SESSION
        + "="
        + token
        + "; Domain="
        + domainHost
        + "; Path=/; Max-Age="
        + maxAgeSeconds
        + "; HttpOnly; Secure; SameSite=Lax";
  }

  public static String clearSession(String domainHost) {
    return SESSION
        + "=; Domain="
        + domainHost
        + "; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
  }

  /** Host-only: a link grants one VM, so its cookie never leaves that VM's host. */
  public static String link(String token) {
    return LINK + "=" + token + "; Path=/; HttpOnly; Secure; SameSite=Lax";
  }

  public static String clearLink() {
    return LINK + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
  }

  private static boolean isGatewayCookie(String pair) {
    return pair.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
  }
}
