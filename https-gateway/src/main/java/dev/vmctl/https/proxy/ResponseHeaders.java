package dev.vmctl.https.proxy;

import dev.vmctl.https.access.Cookies;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;

/** Rewrites a VM's response headers into what the browser receives. */
public final class ResponseHeaders {
  private static final List<String> HOP_BY_HOP =
      List.of("connection", "keep-alive", "proxy-connection", "proxy-authenticate", "trailer");

  private ResponseHeaders() {}

  /**
   * Drops hop-by-hop headers (also those the VM's {@code Connection} names) and forbidden {@code
   * Set-Cookie}s (see {@link Cookies}).
   */
  public static void forClient(HttpHeaders headers, String vmHost, boolean upgraded) {
    if (!upgraded) {
      RequestHeaders.namedInConnection(headers).forEach(headers::remove);
      HOP_BY_HOP.forEach(headers::remove);
      headers.remove(HttpHeaderNames.UPGRADE);
    }
    List<String> setCookies = headers.getAll(HttpHeaderNames.SET_COOKIE);
    if (!setCookies.isEmpty()) {
      headers.remove(HttpHeaderNames.SET_COOKIE);
      for (String value : setCookies) {
        if (Cookies.backendMaySet(value, vmHost)) {
          headers.add(HttpHeaderNames.SET_COOKIE, value);
        }
      }
    }
  }
}
