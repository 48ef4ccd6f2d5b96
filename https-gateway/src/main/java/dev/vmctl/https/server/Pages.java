package dev.vmctl.https.server;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;

/** The gateway's own small HTML pages (errors, landing page) and redirects. */
public final class Pages {
  private Pages() {}

  public static FullHttpResponse page(
      ByteBufAllocator alloc, HttpResponseStatus status, String title, String message) {
    String html =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>"
            + escape(title)
            + "</title></head><body><h1>"
            + escape(title)
            + "</h1><p>"
            + escape(message)
            + "</p></body></html>\n";
    return html(alloc, status, html);
  }

  public static FullHttpResponse list(
      ByteBufAllocator alloc, String title, String intro, List<String[]> links) {
    StringBuilder html = new StringBuilder();
    html.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
        .append(escape(title))
        .append("</title></head><body><h1>")
        .append(escape(title))
        .append("</h1><p>")
        .append(escape(intro))
        .append("</p><ul>");
    for (String[] link : links) {
      html.append("<li><a href=\"")
          .append(escape(link[0]))
          .append("\">")
          .append(escape(link[1]))
          .append("</a></li>");
    }
    html.append("</ul></body></html>\n");
    return html(alloc, HttpResponseStatus.OK, html.toString());
  }

  public static FullHttpResponse redirect(ByteBufAllocator alloc, String location) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.FOUND, alloc.buffer(0));
    response.headers().set(HttpHeaderNames.LOCATION, location);
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    return response;
  }

  public static FullHttpResponse text(
      ByteBufAllocator alloc, HttpResponseStatus status, String body) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, status, ByteBufUtil.writeUtf8(alloc, body));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    return response;
  }

  private static FullHttpResponse html(
      ByteBufAllocator alloc, HttpResponseStatus status, String html) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, status, ByteBufUtil.writeUtf8(alloc, html));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    response.headers().set("X-Content-Type-Options", "nosniff");
    return response;
  }

  static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;")
        .replace("'", "&#39;");
  }
}
