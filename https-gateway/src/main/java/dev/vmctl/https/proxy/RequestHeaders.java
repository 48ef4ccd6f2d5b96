package dev.vmctl.https.proxy;

import dev.vmctl.https.access.Cookies;
import dev.vmctl.https.access.Visitor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Rewrites a client's request headers into what a VM receives. */
public final class RequestHeaders {
  static final String VMCTL_PREFIX = "x-vmctl-";
  public static final String USER_ID = "X-VmCtl-UserID";
  public static final String EMAIL = "X-VmCtl-Email";

  /** Hop-by-hop headers (RFC 9110 7.6.1) and HTTP/2 conversion artefacts. */
  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authorization",
          "te",
          "trailer",
          "upgrade",
          "expect",
          "forwarded",
          "x-forwarded-for",
          "x-forwarded-proto",
          "x-forwarded-host",
          "x-real-ip");

  /** Framing and routing: never removed because a client listed them in {@code Connection}. */
  private static final Set<String> NOT_NAMEABLE =
      Set.of("host", "content-length", "transfer-encoding");

  private RequestHeaders() {}

  /**
   * The lower-case header names a {@code Connection} header lists (RFC 9110 7.6.1: they are
   * hop-by-hop and must not be forwarded), without the framing headers; empty when none.
   */
  public static Set<String> namedInConnection(HttpHeaders headers) {
    if (!headers.contains(HttpHeaderNames.CONNECTION)) {
      return Set.of();
    }
    List<String> values = headers.getAll(HttpHeaderNames.CONNECTION);
    Set<String> names = new HashSet<>();
    for (String value : values) {
      for (String token : value.split(",")) {
        String name = token.trim().toLowerCase(Locale.ROOT);
        if (!name.isEmpty() && !NOT_NAMEABLE.contains(name)) {
          names.add(name);
        }
      }
    }
    return names;
  }

  /**
   * Edits {@code headers} in place: strips hop-by-hop, identity and {@code vmctl_*} cookie
   * material, then adds the gateway's own identity and forwarding headers.
   *
   * @param websocket keep {@code Connection: Upgrade} and {@code Upgrade: websocket}
   */
  public static void forBackend(
      HttpHeaders headers, Visitor visitor, String clientIp, String host, boolean websocket) {
    String upgrade = headers.get(HttpHeaderNames.UPGRADE);
    List<String> cookies = headers.getAll(HttpHeaderNames.COOKIE);
    Set<String> named = namedInConnection(headers);
    List<String> drop = null;
    for (Map.Entry<String, String> header : headers) {
      String lower = header.getKey().toLowerCase(Locale.ROOT);
      // CGI-style servers (PHP, WSGI, Rack) read X_VmCtl_UserID and X-VmCtl-UserID as one name.
      String canonical = lower.indexOf('_') < 0 ? lower : lower.replace('_', '-');
      if (HOP_BY_HOP.contains(canonical)
          || named.contains(lower)
          || canonical.startsWith(VMCTL_PREFIX)
          || lower.startsWith("x-http2-")
          || lower.equals("cookie")) {
        if (drop == null) {
          drop = new ArrayList<>();
        }
        drop.add(header.getKey());
      }
    }
    if (drop != null) {
      drop.forEach(headers::remove);
    }
    if (headers.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      // The only coding accepted (see onlyChunked), spelled the one way every server knows.
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    String kept = Cookies.forBackend(cookies);
    if (kept != null) {
      headers.set(HttpHeaderNames.COOKIE, kept);
    }
    if (visitor.signedIn()) {
      headers.set(USER_ID, visitor.name());
      headers.set(EMAIL, visitor.email());
    }
    headers.set("X-Forwarded-For", clientIp);
    headers.set("X-Forwarded-Proto", "https");
    headers.set("X-Forwarded-Host", host);
    headers.set(HttpHeaderNames.HOST, host);
    if (websocket && upgrade != null) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
      headers.set(HttpHeaderNames.UPGRADE, upgrade);
    }
  }

  /**
   * Whether the request's {@code Transfer-Encoding}, if any, is exactly {@code chunked}. The
   * gateway decodes no other coding, so it answers anything else 501 rather than forward a body
   * whose coding it dropped or cannot frame (RFC 9112 6.1).
   */
  public static boolean onlyChunked(HttpHeaders headers) {
    List<String> codings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
    return codings.isEmpty()
        || codings.size() == 1
            && HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(codings.get(0).trim());
  }

  /** A WebSocket (or other) upgrade request over HTTP/1.1. */
  public static boolean isWebSocketUpgrade(HttpHeaders headers) {
    return headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
        && HttpHeaderValues.WEBSOCKET.contentEqualsIgnoreCase(
            headers.get(HttpHeaderNames.UPGRADE, ""));
  }
}
