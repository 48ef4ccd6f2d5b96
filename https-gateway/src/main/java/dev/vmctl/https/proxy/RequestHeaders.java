package dev.vmctl.https.proxy;

import dev.vmctl.https.access.Cookies;
import dev.vmctl.https.access.Visitor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
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

  private RequestHeaders() {}

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
    List<String> drop = null;
    for (Map.Entry<String, String> header : headers) {
      String lower = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(lower)
          || lower.startsWith(VMCTL_PREFIX)
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
    for (String chunked : headers.getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
      if (!HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(chunked)) {
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
      }
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

  /** A WebSocket (or other) upgrade request over HTTP/1.1. */
  public static boolean isWebSocketUpgrade(HttpHeaders headers) {
    return headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
        && HttpHeaderValues.WEBSOCKET.contentEqualsIgnoreCase(
            headers.get(HttpHeaderNames.UPGRADE, ""));
  }
}
