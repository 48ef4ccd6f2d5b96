package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.https.server.Limits;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hostile-tenant suite for HTTP (issue 21): raw requests over a real TLS socket to a real
 * gateway in front of a real API server, each with the answer it must get and what the VM behind it
 * may see. The VM is a {@link RecordingBackend}: it keeps the exact bytes the gateway sent.
 *
 * <p>{@link #CASES} is the table; slow clients, connection caps and listener addresses, which need
 * time or several sockets, are the tests after it. Placeholders in requests and expectations:
 * {@code {host}} a public VM, {@code {priv}} a private VM of ada's, {@code {session}} a session of
 * ada's, {@code {ada}} her User name.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class HostileHttpKubeTest {
  private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(2);
  private static final int PER_ADDRESS = 16;

  private static GatewayFixture f;
  private static RecordingBackend vm;
  private static String session; // one for the whole table; no row signs it out

  /** What reached the VM. */
  enum Vm {
    /** no byte */
    NOTHING,
    /** bytes, but never a complete request (the body's end never came) */
    INCOMPLETE,
    /** complete request(s), as many as the gateway answered 200 for */
    FORWARDED
  }

  /**
   * One hostile request.
   *
   * @param status the (first) status the client must get
   * @param closes the gateway must close the connection after answering
   * @param answerHas text the answer must contain (null: anything)
   * @param vmHas texts the VM must have received (case-insensitive)
   * @param vmNever texts the VM must never receive (case-insensitive)
   */
  record Case(
      String name,
      String request,
      int status,
      boolean closes,
      String answerHas,
      Vm vm,
      List<String> vmHas,
      List<String> vmNever) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static final String CHUNKED = "Transfer-Encoding: chunked";

  static final List<Case> CASES =
      List.of(
          // --- Framing and smuggling ---
          refused(
              "Content-Length and Transfer-Encoding together",
              400,
              post("/s", "Content-Length: 35", CHUNKED)
                  + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nX: y\r\n\r\n"),
          refused(
              "Transfer-Encoding then Content-Length",
              400,
              post("/s", CHUNKED, "Content-Length: 4") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "duplicate Content-Length, same value",
              400,
              post("/s", "Content-Length: 5", "Content-Length: 5") + "hello"),
          refused("Content-Length list", 400, post("/s", "Content-Length: 5, 6") + "hello"),
          refused("Content-Length with a sign", 400, post("/s", "Content-Length: +5") + "hello"),
          refused(
              "Content-Length overflowing a long",
              400,
              post("/s", "Content-Length: 99999999999999999999") + "hello"),
          refused(
              "Transfer-Encoding chunked twice",
              400,
              post("/s", CHUNKED, CHUNKED) + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "Transfer-Encoding chunked, identity",
              400,
              post("/s", "Transfer-Encoding: chunked, identity") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "Transfer-Encoding identity, chunked (a coding the gateway does not decode)",
              501,
              post("/s", "Transfer-Encoding: identity, chunked") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "Transfer-Encoding gzip, chunked",
              501,
              post("/s", "Transfer-Encoding: gzip, chunked") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "Transfer-Encoding xchunked",
              400,
              post("/s", "Transfer-Encoding: xchunked") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "space before the colon",
              400,
              post("/s", "Transfer-Encoding : chunked") + "5\r\nhello\r\n0\r\n\r\n"),
          refused(
              "obs-fold continuing Transfer-Encoding",
              400,
              post("/s", "Transfer-Encoding: x", " chunked") + "5\r\nhello\r\n0\r\n\r\n"),
          forwarded(
              "obs-fold is one header line at the VM, never a second header",
              get("/fold", "X-A: a", " X-VmCtl-UserID: me"),
              List.of("x-a: a x-vmctl-userid: me\r\n"),
              List.of("\r\nx-vmctl-userid")),
          refused("bare LF line endings", 400, "GET / HTTP/1.1\nHost: {host}\n\n"),
          refused("NUL in a header value", 400, get("/", "X-A: a\0b")),
          refused("NUL in a header name", 400, get("/", "X\0A: b")),
          refused("bare CR inside a header value", 400, get("/", "X-A: a\rX-VmCtl-UserID: me")),
          refused("HTTP/2.0 over HTTP/1.1 framing", 505, "GET / HTTP/2.0\r\nHost: {host}\r\n\r\n"),
          refused("HTTP/1.0 without Host", 400, "GET / HTTP/1.0\r\n\r\n"),
          refused("two Host headers", 400, get("/", "Host: {priv}")),
          refused("Host with user info", 400, "GET / HTTP/1.1\r\nHost: a@{host}\r\n\r\n"),
          refused("one header over 16 KiB", 431, get("/", "X-Big: " + "a".repeat(20_000))),
          refused("headers adding up to over 16 KiB", 431, get("/", manyHeaders(400))),
          refused("request line over 8 KiB", 414, get("/" + "a".repeat(9000))),

          // --- Malformed chunked bodies: 400, closed, and the VM never sees the body end ---
          cut("chunk size zz", post("/c", CHUNKED) + "zz\r\nhello\r\n0\r\n\r\n"),
          cut(
              "chunk size overflowing 32 bits",
              post("/c", CHUNKED) + "100000000\r\nhello\r\n0\r\n\r\n"),
          cut(
              "chunk size overflowing 64 bits",
              post("/c", CHUNKED) + "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
          cut("chunk longer than its size", post("/c", CHUNKED) + "3\r\nhello\r\n0\r\n\r\n"),
          cut(
              "chunk size line ending in bare LF",
              post("/c", CHUNKED) + "5;ext=1\nhello\r\n0\r\n\r\n"),
          cut("negative chunk size", post("/c", CHUNKED) + "-5\r\nhello\r\n0\r\n\r\n"),
          cut("chunk size in 0x notation", post("/c", CHUNKED) + "0x5\r\nhello\r\n0\r\n\r\n"),
          cut("space after the chunk size", post("/c", CHUNKED) + "5 \r\nhello\r\n0\r\n\r\n"),
          cut(
              "chunk extension with CR LF inside quotes",
              post("/c", CHUNKED) + "5;a=\"x\r\ny\"\r\nhello\r\n0\r\n\r\n"),
          cut(
              "second chunk malformed after a good first one",
              post("/c", CHUNKED) + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n"),
          forwarded(
              "a well-formed chunk extension is fine",
              post("/c", CHUNKED) + "5;ext=1\r\nhello\r\n0\r\n\r\n",
              List.of("transfer-encoding: chunked", "hello"),
              List.of()),
          cut(
              "a chunk extension longer than any header",
              post("/c", CHUNKED) + "5;" + "e".repeat(20_000) + "\r\nhello\r\n0\r\n\r\n"),
          cut(
              "trailers longer than any header block",
              post("/c", CHUNKED) + "5\r\nhello\r\n0\r\nX-T: " + "t".repeat(20_000) + "\r\n\r\n"),
          refused(
              "Transfer-Encoding in HTTP/1.0 is faulty framing (RFC 9112 6.1)",
              400,
              "POST /c10 HTTP/1.0\r\nHost: {host}\r\n"
                  + CHUNKED
                  + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),

          // --- Trailers never reach the VM ---
          forwarded(
              "identity and forwarding trailers are dropped",
              post("/t", CHUNKED)
                  + "5\r\nhello\r\n0\r\nX-VmCtl-UserID: me\r\nX-VmCtl-Email: me@evil.example\r\n"
                  + "X-Forwarded-For: 6.6.6.6\r\nX_VmCtl_UserID: me\r\n\r\n",
              List.of("hello", "x-forwarded-for: 127.0.0.1"),
              List.of("me@evil", "6.6.6.6", "userid: me", "x_vmctl")),
          forwarded(
              "a trailer cannot replace the signed-in identity",
              head("POST /t", "{priv}", "Cookie: vmctl_session={session}", CHUNKED)
                  + "5\r\nhello\r\n0\r\nX-VmCtl-UserID: eve\r\nCookie: vmctl_session=x\r\n\r\n",
              List.of("x-vmctl-userid: {ada}"),
              List.of("eve", "{session}", "vmctl_session")),
          refused(
              "trailers do not open a private VM",
              403,
              "POST /t HTTP/1.1\r\nHost: {priv}\r\n"
                  + CHUNKED
                  + "\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-VmCtl-UserID: {ada}\r\n"
                  + "Cookie: vmctl_session={session}\r\n\r\n"),

          // --- Identity and hop-by-hop headers ---
          forwarded(
              "client identity headers are stripped, any case, underscores too",
              get(
                  "/id",
                  "X-VmCtl-UserID: me",
                  "x-vmctl-email: me@evil.example",
                  "X-VMCTL-USERID: me",
                  "X_VmCtl_UserID: me",
                  "X-VmCtl-Anything: me"),
              List.of("get /id http/1.1"),
              List.of("vmctl")),
          forwarded(
              "client forwarding headers are replaced",
              get(
                  "/fwd",
                  "X-Forwarded-For: 6.6.6.6",
                  "X_Forwarded_For: 6.6.6.6",
                  "Forwarded: for=6.6.6.6",
                  "X-Real-IP: 6.6.6.6",
                  "X-Forwarded-Host: evil.example",
                  "X-Forwarded-Proto: http"),
              List.of(
                  "x-forwarded-for: 127.0.0.1",
                  "x-forwarded-proto: https",
                  "x-forwarded-host: {host}"),
              List.of("6.6.6.6", "evil.example", "forwarded: ", "proto: http\r\n")),
          forwarded(
              "headers named in Connection are not forwarded",
              get(
                  "/conn",
                  "Connection: keep-alive, X-Secret, x-other",
                  "X-Secret: 1",
                  "X-Other: 2"),
              List.of("get /conn"),
              List.of("x-secret", "x-other")),
          forwarded(
              "Connection cannot remove the gateway's identity header",
              head(
                  "GET /conn",
                  "{priv}",
                  "Cookie: vmctl_session={session}",
                  "Connection: X-VmCtl-UserID"),
              List.of("x-vmctl-userid: {ada}"),
              List.of("{session}")),
          forwarded(
              "Connection cannot remove framing: the body still arrives whole",
              post("/conn", "Content-Length: 5", "Connection: Content-Length, Host") + "hello",
              List.of("content-length: 5", "host: {host}", "\r\n\r\nhello"),
              List.of()),
          forwarded(
              "hop-by-hop and proxy headers are stripped",
              get(
                  "/hop",
                  "Connection: Upgrade, HTTP2-Settings",
                  "Upgrade: h2c",
                  "HTTP2-Settings: AAMAAABkAAQAAP__",
                  "TE: trailers",
                  "Proxy-Authorization: Basic Zm9vOmJhcg==",
                  "Proxy-Connection: keep-alive",
                  "Keep-Alive: timeout=5"),
              List.of("get /hop"),
              List.of("upgrade", "http2-settings", "te:", "proxy-", "keep-alive", "timeout=5")),
          forwarded(
              "Expect is answered by the gateway, not forwarded",
              post("/exp", "Content-Length: 5", "Expect: 100-continue") + "hello",
              List.of("hello"),
              List.of("expect")),
          refused(
              "forged identity does not open a private VM",
              403,
              "GET / HTTP/1.1\r\nHost: {priv}\r\nX-VmCtl-UserID: {ada}\r\nConnection: close\r\n\r\n"),
          refused(
              "forged session cookie does not open a private VM",
              403,
              "GET / HTTP/1.1\r\nHost: {priv}\r\nCookie: vmctl_session=v1.forged\r\n"
                  + "Connection: close\r\n\r\n"),
          forwarded(
              "gateway cookies in a second Cookie header are removed too",
              get("/ck", "Cookie: app=1", "Cookie: vmctl_session={session}; vmctl_link=x"),
              List.of("cookie: app=1\r\n"),
              List.of("vmctl_", "{session}")),
          forwarded(
              "Upgrade without Connection: Upgrade is no upgrade and is stripped",
              get("/ws", "Upgrade: websocket", "Sec-WebSocket-Version: 13"),
              List.of("get /ws http/1.1"),
              List.of("upgrade")),
          refused(
              "a WebSocket upgrade does not open a private VM",
              403,
              head(
                  "GET /ws",
                  "{priv}",
                  "Upgrade: websocket",
                  "Connection: Upgrade, close",
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                  "Sec-WebSocket-Version: 13",
                  "X-VmCtl-UserID: {ada}")),
          forwarded(
              "the VM gets the gateway's Host, never the client's spelling",
              "GET /h HTTP/1.1\r\nHost: {host}.:1\r\n\r\n",
              List.of("\r\nhost: {host}\r\n"),
              List.of("{host}.", ":1\r\n")),
          forwarded(
              "gateway cookies never reach a VM, other cookies do",
              get("/ck", "Cookie: vmctl_session={session}; app=1; vmctl_link=x"),
              List.of("cookie: app=1\r\n"),
              List.of("vmctl_", "{session}")),

          // --- Request targets: one normalised form, routed and forwarded ---
          refused(
              "absolute-form naming another host",
              400,
              "GET http://evil.example/ HTTP/1.1\r\nHost: {host}\r\n\r\n"),
          refused(
              "absolute-form naming another VM than Host",
              400,
              "GET https://{priv}/ HTTP/1.1\r\nHost: {host}\r\n\r\n"),
          forwarded(
              "absolute-form naming the Host is rewritten to origin-form",
              "GET https://{host}/abs/../ok?q=1 HTTP/1.1\r\nHost: {host}\r\n\r\n",
              List.of("get /ok?q=1 http/1.1\r\n"),
              List.of("https://")),
          refused(
              "authority-form outside CONNECT",
              400,
              "GET {host}:443 HTTP/1.1\r\nHost: {host}\r\n\r\n"),
          refused(
              "CONNECT (not a forward proxy)",
              405,
              "CONNECT evil.example:443 HTTP/1.1\r\nHost: {host}\r\n\r\n"),
          forwarded(
              "OPTIONS * is forwarded as is",
              "OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n",
              List.of("options * http/1.1\r\n"),
              List.of()),
          refused("asterisk-form outside OPTIONS", 400, "GET * HTTP/1.1\r\nHost: {host}\r\n\r\n"),
          local(
              "dot segments reach the gateway's own logout",
              200,
              "Signed out",
              get("/x/../__vmctl/logout", "Connection: close")),
          local(
              "a doubled slash reaches the gateway's own logout",
              200,
              "Signed out",
              get("//__vmctl/logout", "Connection: close")),
          local(
              "percent-encoded dots reach the gateway's own logout",
              200,
              "Signed out",
              get("/%2e%2e/__vmctl/logout", "Connection: close")),
          local(
              "encoded dots in front of a share link stay with the gateway",
              403,
              "Share link not valid",
              get("/x/.%2E/__vmctl/share/not-a-token", "Connection: close")),
          local(
              "percent-encoded underscores spell the gateway's prefix too",
              200,
              "Signed out",
              get("/%5F%5Fvmctl/logout", "Connection: close")),
          forwarded(
              "a long run of dot segments normalises in one pass",
              get("/" + "a/../".repeat(1500) + "end"),
              List.of("get /end http/1.1\r\n"),
              List.of("a/")),
          local(
              "a login token behind dot segments stays with the gateway",
              403,
              "Login link not valid",
              get("/a/b/../../__vmctl/login/not-a-token", "Connection: close")),
          forwarded(
              "the VM gets the normalised path",
              get("/a//b/./c/../%64?x=/../y"),
              List.of("get /a/b/d?x=/../y http/1.1\r\n"),
              List.of("/./", "//", "/c/", "%64")),
          forwarded(
              "an encoded slash stays encoded (not a separator)",
              get("/a/..%2F__vmctl/logout"),
              List.of("get /a/..%2f__vmctl/logout http/1.1\r\n"),
              List.of()),
          forwarded(
              "encoded CR LF in the path cannot split the VM's request",
              get("/a%0d%0aX-VmCtl-UserID:%20me"),
              List.of("get /a%0d%0ax-vmctl-userid:%20me http/1.1\r\n"),
              List.of("\r\nx-vmctl-userid")),
          refused("backslash path", 400, get("/a\\..\\__vmctl/logout")),
          refused("malformed percent escape", 400, get("/%zz")),
          refused("truncated percent escape", 400, get("/a%2")),
          refused("fragment in the target", 400, get("/a#frag")),
          refused("raw non-ASCII in the target", 400, get("/caf\u00e9")),
          refused("control character in the query", 400, get("/a?b=\u0001")),

          // --- Bodies the gateway frames itself ---
          forwarded(
              "a bodyless GET is not forwarded chunked",
              get("/plain"),
              List.of("get /plain http/1.1\r\n"),
              List.of("transfer-encoding", "content-length", "\r\n0\r\n\r\n")),
          forwarded(
              "a bodyless POST stays bodyless",
              post("/plain", "Content-Length: 0"),
              List.of("content-length: 0"),
              List.of("transfer-encoding")),
          forwarded(
              "a chunked body arrives chunked with exactly one coding",
              post("/ch", "Transfer-Encoding: Chunked") + "5\r\nhello\r\n0\r\n\r\n",
              List.of("transfer-encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
              List.of("transfer-encoding: chunked, ")),
          new Case(
              "pipelined requests are answered in order, each once",
              get("/one") + get("/two", "Connection: close"),
              200,
              true,
              null,
              Vm.FORWARDED,
              List.of("get /one ", "get /two "),
              List.of()));

  static Stream<Case> cases() {
    return CASES.stream();
  }

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    f =
        new GatewayFixture(
            env,
            new Limits(
                Duration.ofSeconds(30),
                Duration.ofSeconds(20),
                Duration.ofSeconds(2),
                16384,
                8192,
                HEADER_TIMEOUT,
                PER_ADDRESS),
            "127.0.0.2");
    vm = new RecordingBackend();
    session = f.session(f.ada);
    f.vm(f.host("rec"), true, vm.port(), VmPhase.Running, "127.0.0.1", null);
    f.vm(f.host("recpriv"), false, vm.port(), VmPhase.Running, "127.0.0.1", null);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> f.curl.get(f.fqdn("rec"), "/ready").status() == 200);
  }

  @AfterAll
  static void stop() throws Exception {
    if (f != null) {
      f.close();
    }
    if (vm != null) {
      vm.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void hostileRequest(Case c) throws Exception {
    RecordingBackend.Mark mark = vm.mark();
    int answers = c.name().startsWith("pipelined") ? 2 : 1;
    List<Integer> statuses = new ArrayList<>();
    String text;
    boolean closed;
    try (RawTls tls = new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"))) {
      tls.send(fill(c.request()));
      StringBuilder all = new StringBuilder();
      for (int i = 0; i < answers; i++) {
        String response = readResponse(tls);
        all.append(response);
        statuses.add(statusOf(response));
      }
      text = all.toString();
      closed = c.closes() && tls.closedByPeer();
    }
    assertThat(statuses.get(0)).as("status; answer:\n%s", text).isEqualTo(c.status());
    if (c.closes()) {
      assertThat(closed).as("the gateway closes the connection").isTrue();
    }
    if (c.answerHas() != null) {
      assertThat(text).contains(c.answerHas());
    }
    List<RecordingBackend.Connection> seen = settled(mark);
    String atVm =
        String.join("", seen.stream().map(RecordingBackend.Connection::bytes).toList())
            .toLowerCase(Locale.ROOT);
    int complete = seen.stream().mapToInt(RecordingBackend.Connection::completeRequests).sum();
    switch (c.vm()) {
      case NOTHING -> assertThat(atVm).as("bytes at the VM").isEmpty();
      case INCOMPLETE -> assertThat(complete).as("complete requests at the VM").isZero();
      case FORWARDED -> {
        assertThat(complete).as("complete requests at the VM:\n%s", atVm).isEqualTo(answers);
        assertThat(statuses).containsOnly(200);
        assertThat(text).contains("from-backend");
      }
    }
    for (String has : c.vmHas()) {
      assertThat(atVm).as("at the VM").contains(fill(has).toLowerCase(Locale.ROOT));
    }
    for (String never : c.vmNever()) {
      assertThat(atVm).as("at the VM").doesNotContain(fill(never).toLowerCase(Locale.ROOT));
    }
  }

  // --- HTTP/2 goes through the same checks (curl, since a raw HTTP/2 client is no table) ---

  @Test
  void http2RequestsAreNormalisedAndStrippedTheSameWay() throws Exception {
    RecordingBackend.Mark mark = vm.mark();
    Curl.Response logout =
        f.curl.get(f.fqdn("rec"), "/x/%2e%2e//__vmctl/logout", "--http2", "--path-as-is");
    assertThat(logout.httpVersion()).isEqualTo("2");
    assertThat(logout.status()).isEqualTo(200);
    assertThat(logout.body()).contains("Signed out");
    assertThat(settled(mark)).as("nothing reached the VM").isEmpty();

    mark = vm.mark();
    Curl.Response plain =
        f.curl.get(
            f.fqdn("rec"),
            "/h2//plain/./x/..",
            "--http2",
            "--path-as-is",
            "-H",
            "X-VmCtl-UserID: me",
            "-H",
            "X_VmCtl_Email: me@evil.example",
            "-H",
            "X-Forwarded-For: 6.6.6.6");
    assertThat(plain.status()).isEqualTo(200);
    String atVm = settled(mark).get(0).bytes().toLowerCase(Locale.ROOT);
    assertThat(atVm)
        .startsWith("get /h2/plain/ http/1.1\r\n")
        .contains("x-forwarded-for: 127.0.0.1")
        .doesNotContain("transfer-encoding")
        .doesNotContain("vmctl")
        .doesNotContain("6.6.6.6");
  }

  // --- Slow clients (item 9) ---

  @Test
  void headerDrippedSlowerThanTheDeadlineIsClosed() throws Exception {
    try (RawTls tls =
        new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.6")) {
      tls.send("GET /slow HTTP/1.1\r\nHost: " + f.fqdn("rec") + "\r\n");
      // Each line resets the 30 s idle timeout; only the header deadline can end this.
      assertThat(dripUntilClosed(tls, Duration.ofSeconds(20))).as("closed by the gateway").isTrue();
    }
    assertThat(f.registry.scrape())
        .contains("vmctl_https_rejected_connections_total{reason=\"header-timeout\"}");
  }

  @Test
  void manySlowlorisConnectionsAreAllClosed() throws Exception {
    List<RawTls> slow = new ArrayList<>();
    try {
      for (int i = 0; i < 12; i++) {
        RawTls tls = new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.7");
        tls.send("GET / HTTP/1.1\r\nHost: " + f.fqdn("rec") + "\r\nX-1: a\r\n");
        slow.add(tls);
      }
      for (RawTls tls : slow) {
        assertThat(tls.closedByPeer()).isTrue(); // bounded: 5 s each, the deadline is 2 s
      }
    } finally {
      for (RawTls tls : slow) {
        tls.close();
      }
    }
  }

  @Test
  void connectionThatNeverSendsARequestIsClosed() throws Exception {
    try (RawTls tls =
        new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.8")) {
      assertThat(tls.closedByPeer()).isTrue(); // idle timeout 30 s; bounded read 5 s
    }
    try (Socket raw = new Socket()) {
      raw.bind(new InetSocketAddress("127.0.0.8", 0));
      raw.connect(new InetSocketAddress("127.0.0.1", f.gateway.httpsPort()), 5000);
      raw.getOutputStream().write(0x16); // the first byte of a TLS record, then nothing
      raw.setSoTimeout(5000);
      assertThat(raw.getInputStream().read()).as("no TLS handshake").isEqualTo(-1);
    }
  }

  @Test
  void slowBodiesAndIdleKeepAliveAreNotTheHeaderDeadline() throws Exception {
    try (RawTls tls =
        new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.9")) {
      tls.send(
          "POST /slow-body HTTP/1.1\r\nHost: " + f.fqdn("rec") + "\r\nContent-Length: 6\r\n\r\n");
      for (char c : "abcdef".toCharArray()) {
        Thread.sleep(HEADER_TIMEOUT.toMillis() / 2);
        tls.send(String.valueOf(c)); // 3 s for the body: longer than the header deadline
      }
      assertThat(statusOf(readResponse(tls))).isEqualTo(200);
      Thread.sleep(HEADER_TIMEOUT.toMillis() + 1000); // idle between requests, under 30 s
      tls.send("GET /again HTTP/1.1\r\nHost: " + f.fqdn("rec") + "\r\n\r\n");
      assertThat(statusOf(readResponse(tls))).isEqualTo(200);
    }
  }

  @Test
  void connectionsPerSourceAddressAreCapped() throws Exception {
    List<RawTls> open = new ArrayList<>();
    try {
      for (int i = 0; i < PER_ADDRESS; i++) {
        RawTls tls = new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.5");
        tls.send(get("/cap").replace("{host}", f.fqdn("rec")));
        assertThat(statusOf(readResponse(tls))).isEqualTo(200);
        open.add(tls);
      }
      assertThatThrownBy(
              () -> {
                try (RawTls extra =
                    new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.5")) {
                  extra.send(get("/cap").replace("{host}", f.fqdn("rec")));
                  readResponse(extra);
                }
              })
          .as("one over the cap")
          .isInstanceOf(IOException.class);
      assertThat(f.curl.get(f.fqdn("rec"), "/other-address").status()).isEqualTo(200);
      open.remove(0).close();
      await()
          .atMost(Duration.ofSeconds(10))
          .ignoreExceptions()
          .until(
              () -> {
                try (RawTls again =
                    new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("rec"), "127.0.0.5")) {
                  again.send(get("/cap", "Connection: close").replace("{host}", f.fqdn("rec")));
                  return statusOf(readResponse(again)) == 200;
                }
              });
    } finally {
      for (RawTls tls : open) {
        tls.close();
      }
    }
    assertThat(f.registry.scrape())
        .contains("vmctl_https_rejected_connections_total{reason=\"per-address-limit\"}");
  }

  // --- Listener addresses (item 8, HTTPS gateway part) ---

  @Test
  void plainListenerListensOnlyOnItsConfiguredAddress() throws Exception {
    assertThat(f.gateway.httpAddress().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
    assertThat(f.gateway.httpsAddress().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    try (Socket plain = new Socket("127.0.0.2", f.gateway.httpPort())) {
      plain
          .getOutputStream()
          .write(
              ("GET /x HTTP/1.1\r\nHost: " + f.fqdn("rec") + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      plain.setSoTimeout(5000);
      String answer = new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 301");
    }
    assertThatThrownBy(
            () -> {
              try (Socket other = new Socket()) {
                other.connect(new InetSocketAddress("127.0.0.1", f.gateway.httpPort()), 5000);
              }
            })
        .isInstanceOf(ConnectException.class);
    assertThatThrownBy(
            () -> {
              try (Socket other = new Socket()) {
                other.connect(new InetSocketAddress("127.0.0.2", f.gateway.httpsPort()), 5000);
              }
            })
        .isInstanceOf(ConnectException.class);
  }

  // --- Table helpers ---

  private static Case refused(String name, int status, String request) {
    return new Case(name, request, status, true, null, Vm.NOTHING, List.of(), List.of());
  }

  private static Case cut(String name, String request) {
    return new Case(
        name, request, 400, true, "Malformed request body", Vm.INCOMPLETE, List.of(), List.of());
  }

  private static Case local(String name, int status, String answerHas, String request) {
    return new Case(name, request, status, false, answerHas, Vm.NOTHING, List.of(), List.of());
  }

  private static Case forwarded(
      String name, String request, List<String> vmHas, List<String> vmNever) {
    return new Case(name, request, 200, false, null, Vm.FORWARDED, vmHas, vmNever);
  }

  /** {@code GET path HTTP/1.1}, {@code Host: {host}}, the given header lines, blank line. */
  private static String get(String path, String... headers) {
    return head("GET " + path, "{host}", headers);
  }

  private static String post(String path, String... headers) {
    return head("POST " + path, "{host}", headers);
  }

  private static String head(String start, String host, String... headers) {
    StringBuilder sb = new StringBuilder(start).append(" HTTP/1.1\r\nHost: " + host + "\r\n");
    for (String header : headers) {
      sb.append(header).append("\r\n");
    }
    return sb.append("\r\n").toString();
  }

  private static String manyHeaders(int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : "\r\n").append("X-H").append(i).append(": ").append("v".repeat(40));
    }
    return sb.toString();
  }

  private static String fill(String text) {
    return text.replace("{host}", f.fqdn("rec"))
        .replace("{priv}", f.fqdn("recpriv"))
        .replace("{session}", session)
        .replace("{ada}", f.ada);
  }

  /** The VM's connections since {@code mark}, once every one that received bytes has ended. */
  private static List<RecordingBackend.Connection> settled(RecordingBackend.Mark mark) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> vm.since(mark).stream().allMatch(c -> c.closed() || c.bytes().isEmpty()));
    return vm.since(mark);
  }

  /**
   * One final response (a {@code 100 Continue} before it is skipped): head, then a Content-Length
   * body (all of the gateway's answers and the recording VM's carry one).
   */
  private static String readResponse(RawTls tls) throws IOException {
    String head = tls.readHead();
    while (head.startsWith("HTTP/1.1 1")) {
      head = tls.readHead();
    }
    if (head.isEmpty()) {
      throw new IOException("closed before an answer");
    }
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    InputStream in = tls.socket.getInputStream();
    return head + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }

  private static int statusOf(String response) {
    return Integer.parseInt(response.substring(9, 12));
  }

  /** Sends a header line every 250 ms until the gateway closes, or {@code max} has passed. */
  private static boolean dripUntilClosed(RawTls tls, Duration max) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    int i = 0;
    try {
      tls.socket.setSoTimeout(250);
      while (System.nanoTime() < end) {
        tls.send("X-Drip-" + i++ + ": x\r\n");
        try {
          if (tls.socket.getInputStream().read() < 0) {
            return true;
          }
        } catch (java.net.SocketTimeoutException e) {
          // still open: drip on
        }
      }
      return false;
    } catch (IOException e) {
      return true; // the write or read failed: closed
    }
  }
}
