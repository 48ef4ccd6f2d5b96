package dev.vmctl.https.server;

import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One line per request, with tokens and query strings removed (they may carry secrets). */
public final class AccessLog {
  private static final Logger LOG = LoggerFactory.getLogger("dev.vmctl.https.access");
  private static final Pattern SECRET_PATH = Pattern.compile("^(/__vmctl/(login|share)/).*$");

  private AccessLog() {}

  public static boolean enabled() {
    return LOG.isInfoEnabled();
  }

  /** The path as logged: no query string, no login or share token. */
  public static String redact(String uri) {
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    path = SECRET_PATH.matcher(path).replaceFirst("$1<redacted>");
    return path.length() > 200 ? path.substring(0, 200) + "..." : path;
  }

  public static void log(
      String client,
      String protocol,
      String method,
      String host,
      String uri,
      int status,
      long nanos) {
    if (LOG.isInfoEnabled()) {
      LOG.info(
          "{} {} {} {} {} {} {}ms",
          client,
          protocol,
          method,
          host,
          redact(uri),
          status,
          nanos / 1_000_000);
    }
  }
}
