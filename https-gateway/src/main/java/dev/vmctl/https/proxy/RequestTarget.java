package dev.vmctl.https.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A client's request target checked and normalised once; the gateway routes on the result and
 * forwards exactly that, so the gateway and the VM never disagree about which path was asked for.
 *
 * <ul>
 *   <li>origin-form ({@code /path?query}): the path is normalised, the query kept as sent;
 *   <li>absolute-form ({@code https://host/path}): accepted only when its host is the Host header's
 *       host, then rewritten to origin-form (RFC 9112 3.2.2 lets a server take either; taking the
 *       one both agree on leaves nothing to route differently);
 *   <li>asterisk-form ({@code *}) only for {@code OPTIONS}; anything else (authority-form, a
 *       fragment, bytes outside printable ASCII, a backslash in the path): refused.
 * </ul>
 *
 * <p>Path normalisation (RFC 3986 6.2.2): escapes of unreserved characters are decoded ({@code %2e}
 * is {@code .}, {@code %7E} is {@code ~}), other escapes keep their meaning and get upper-case hex;
 * {@code .} and {@code ..} segments are removed (never above the root); runs of {@code /} are
 * merged, as nginx's {@code merge_slashes} does. Decoding happens once, so {@code %252e} stays
 * {@code %252e} (an escaped {@code %} then {@code 2e}), and {@code %2F} stays an escaped slash, not
 * a separator. A path needing none of this is returned as it is, without copying.
 */
public final class RequestTarget {
  private RequestTarget() {}

  /**
   * The normalised origin-form target (or {@code *}), or null when the target must be refused
   * (400).
   *
   * @param host the request's Host, already normalised by {@code Domain.hostOf}
   */
  public static String normalise(String target, String method, String host) {
    if (target.isEmpty()) {
      return null;
    }
    char first = target.charAt(0);
    if (first == '/') {
      return originForm(target);
    }
    if (target.equals("*")) {
      return "OPTIONS".equals(method) ? target : null;
    }
    return absoluteForm(target, host);
  }

  private static String absoluteForm(String target, String host) {
    String lower = target.toLowerCase(Locale.ROOT);
    int start;
    if (lower.startsWith("https://")) {
      start = 8;
    } else if (lower.startsWith("http://")) {
      start = 7;
    } else {
      return null;
    }
    int end = start;
    while (end < target.length() && "/?#".indexOf(target.charAt(end)) < 0) {
      end++;
    }
    String authority = lower.substring(start, end);
    if (authority.indexOf('@') >= 0 || !authority.equals(host) && !withPort(authority, host)) {
      return null;
    }
    if (end == target.length()) {
      return "/";
    }
    return target.charAt(end) == '?'
        ? originForm("/" + target.substring(end))
        : origin(target, end);
  }

  private static String origin(String target, int end) {
    return target.charAt(end) == '/' ? originForm(target.substring(end)) : null;
  }

  private static boolean withPort(String authority, String host) {
    if (!authority.startsWith(host) || authority.length() <= host.length() + 1) {
      return false;
    }
    if (authority.charAt(host.length()) != ':') {
      return false;
    }
    for (int i = host.length() + 1; i < authority.length(); i++) {
      if (authority.charAt(i) < '0' || authority.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  private static String originForm(String target) {
    int query = target.indexOf('?');
    int pathEnd = query < 0 ? target.length() : query;
    boolean rewrite = false;
    for (int i = 0; i < pathEnd; i++) {
      char c = target.charAt(i);
      if (c <= ' ' || c >= 0x7f || c == '#' || c == '\\') {
        return null;
      }
      if (c == '%' || c == '/' && i + 1 < pathEnd && "/.".indexOf(target.charAt(i + 1)) >= 0) {
        rewrite = true;
      }
    }
    for (int i = pathEnd; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c <= ' ' || c >= 0x7f || c == '#') {
        return null;
      }
    }
    if (!rewrite) {
      return target;
    }
    String path = normalisePath(target.substring(0, pathEnd));
    if (path == null) {
      return null;
    }
    return query < 0 ? path : path + target.substring(query);
  }

  /** {@code path} starts with a slash and holds printable ASCII only; null for a bad escape. */
  private static String normalisePath(String path) {
    String decoded = decodeUnreserved(path);
    if (decoded == null) {
      return null;
    }
    List<String> segments = new ArrayList<>();
    boolean trailingSlash = false;
    int i = 1;
    while (i <= decoded.length()) {
      int slash = decoded.indexOf('/', i);
      int end = slash < 0 ? decoded.length() : slash;
      String segment = decoded.substring(i, end);
      boolean last = slash < 0;
      if (segment.equals("..")) {
        if (!segments.isEmpty()) {
          segments.remove(segments.size() - 1);
        }
        trailingSlash = true;
      } else if (segment.equals(".") || segment.isEmpty()) {
        trailingSlash = true; // "/a/." and "/a//" both end in a directory
      } else {
        segments.add(segment);
        trailingSlash = false;
      }
      if (last) {
        break;
      }
      i = end + 1;
    }
    StringBuilder out = new StringBuilder(decoded.length());
    for (String segment : segments) {
      out.append('/').append(segment);
    }
    if (trailingSlash || segments.isEmpty()) {
      out.append('/');
    }
    return out.toString();
  }

  private static String decodeUnreserved(String path) {
    if (path.indexOf('%') < 0) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c != '%') {
        out.append(c);
        continue;
      }
      if (i + 2 >= path.length()) {
        return null;
      }
      int hi = Character.digit(path.charAt(i + 1), 16);
      int lo = Character.digit(path.charAt(i + 2), 16);
      if (hi < 0 || lo < 0) {
        return null;
      }
      char decoded = (char) (hi << 4 | lo);
      if (unreserved(decoded)) {
        out.append(decoded);
      } else {
        out.append('%')
            .append(Character.toUpperCase(path.charAt(i + 1)))
            .append(Character.toUpperCase(path.charAt(i + 2)));
      }
      i += 2;
    }
    return out.toString();
  }

  private static boolean unreserved(char c) {
    return c >= 'a' && c <= 'z'
        || c >= 'A' && c <= 'Z'
        || c >= '0' && c <= '9'
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '~';
  }
}
