package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.micrometer.core.instrument.Counter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gateway end to end: real curl and raw TLS clients, a real API server feeding the informers,
 * real backend web servers standing in for VMs.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class HttpsGatewayKubeTest {
  private static GatewayFixture f;

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    f = new GatewayFixture(env);
  }

  @AfterAll
  static void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  private static String cookie(String name, String value) {
    return name + "=" + value;
  }

  @Test
  void publicVmIsServedOverHttp1AndHttp2WithForwardingHeadersAndNoIdentityForgery()
      throws Exception {
    Curl.Response r =
        f.curl.get(
            f.fqdn("pub"),
            "/headers",
            "--http1.1",
            "-H",
            "X-VmCtl-UserID: mallory",
            "-H",
            "x-vmctl-email: mallory@example.com",
            "-H",
            "Cookie: vmctl_session=forged; app=1; vmctl_link=x");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.httpVersion()).isEqualTo("1.1");
    assertThat(r.body())
        .contains("x-forwarded-proto: https")
        .contains("x-forwarded-host: " + f.fqdn("pub"))
        .contains("x-forwarded-for: 127.0.0.1")
        .contains("cookie: app=1\n")
        .doesNotContain("mallory")
        .doesNotContain("vmctl_");

    Curl.Response h2 = f.curl.get(f.fqdn("pub"), "/headers", "--http2");
    assertThat(h2.status()).isEqualTo(200);
    assertThat(h2.httpVersion()).isEqualTo("2");
    assertThat(h2.body()).contains("backend a").contains("host: " + f.fqdn("pub"));
  }

  @Test
  void routingAnswersUnknownStoppedDownAndGuestReportedPorts() throws Exception {
    assertThat(f.curl.get("nosuch-" + f.sfx + ".vm.localhost", "/").status()).isEqualTo(404);
    // The wildcard certificate does not cover deeper names: present a valid name, ask for one.
    assertThat(f.curl.get(f.fqdn("pub"), "/", "-H", "Host: a.b.vm.localhost").status())
        .isEqualTo(404);
    Curl.Response stopped = f.curl.get(f.fqdn("stop"), "/");
    assertThat(stopped.status()).isEqualTo(503);
    assertThat(stopped.body()).contains("is Stopped");
    Curl.Response down = f.curl.get(f.fqdn("down"), "/");
    assertThat(down.status()).isEqualTo(502);
    assertThat(down.body()).contains("not accepting connections");
    // No spec.http.port: the lowest reported port other than 22.
    Curl.Response guest = f.curl.get(f.fqdn("guest"), "/headers");
    assertThat(guest.status()).isEqualTo(200);
    assertThat(guest.body()).contains("backend a");
  }

  /**
   * Routes are kept between requests (Routes) and must follow every change: a served VM that stops
   * answers 503 from then on, serves again once Running, and a deleted one is unknown.
   */
  @Test
  void routesFollowTheVmWhenItStopsStartsAndGoes() throws Exception {
    String name = f.host("flip");
    f.vm(name, true, f.backend.port(), VmPhase.Running, "127.0.0.1", null);
    String fqdn = name + ".vm.localhost";
    await().atMost(Duration.ofSeconds(20)).until(() -> f.curl.get(fqdn, "/").status() == 200);
    setPhase(name, VmPhase.Stopped);
    await().atMost(Duration.ofSeconds(20)).until(() -> f.curl.get(fqdn, "/").status() == 503);
    setPhase(name, VmPhase.Running);
    await().atMost(Duration.ofSeconds(20)).until(() -> f.curl.get(fqdn, "/").status() == 200);
    f.client.resources(VirtualMachine.class).inNamespace(f.adaNs).withName(name).delete();
    await().atMost(Duration.ofSeconds(20)).until(() -> f.curl.get(fqdn, "/").status() == 404);
  }

  private void setPhase(String name, VmPhase phase) {
    var vm = f.client.resources(VirtualMachine.class).inNamespace(f.adaNs).withName(name);
    dev.vmctl.api.kube.Edits.editStatus(
        vm,
        v -> {
          v.getStatus().phase = phase;
          return v;
        });
  }

  @Test
  void privateVmAdmitsOwnerAndEmailShareOnly() throws Exception {
    Curl.Response anonymous = f.curl.get(f.fqdn("priv"), "/");
    assertThat(anonymous.status()).isEqualTo(403);
    assertThat(anonymous.body())
        .as("the real command, not a placeholder (issue 19)")
        .contains("Run &#39;ssh -p 2222 localhost login&#39;");

    String next = "https://" + f.fqdn("priv") + "/headers";
    String token = f.login(f.ada);
    Curl.Response login = f.curl.get("vm.localhost", "/__vmctl/login/" + token + "?next=" + next);
    assertThat(login.status()).isEqualTo(302);
    assertThat(login.header("location")).containsExactly(next);
    String setCookie = login.header("set-cookie").get(0);
    assertThat(setCookie)
        .startsWith("vmctl_session=")
        .contains("Domain=vm.localhost")
        .contains("Path=/")
        .contains("HttpOnly")
        .contains("Secure")
        .contains("SameSite=Lax");
    String session = setCookie.substring("vmctl_session=".length(), setCookie.indexOf(';'));
    // One-time: the same login URL does not work twice.
    assertThat(f.curl.get("vm.localhost", "/__vmctl/login/" + token).status()).isEqualTo(403);

    Curl.Response owner =
        f.curl.get(f.fqdn("priv"), "/headers", "-H", "Cookie: " + cookie("vmctl_session", session));
    assertThat(owner.status()).isEqualTo(200);
    assertThat(owner.body())
        .contains("x-vmctl-userid: " + f.ada)
        .contains("x-vmctl-email: Ada@Example.com")
        .doesNotContain(session);

    Curl.Response bob =
        f.curl.get(f.fqdn("priv"), "/headers", "-H", "Cookie: vmctl_session=" + f.session(f.bob));
    assertThat(bob.status()).isEqualTo(200);
    assertThat(bob.body()).contains("x-vmctl-userid: " + f.bob);

    assertThat(
            f.curl
                .get(f.fqdn("priv"), "/", "-H", "Cookie: vmctl_session=" + f.session(f.carol))
                .status())
        .isEqualTo(403);
    // A disabled user can neither log in nor use an old session.
    assertThat(f.curl.get("vm.localhost", "/__vmctl/login/" + f.login(f.dave)).status())
        .isEqualTo(403);
    assertThat(
            f.curl
                .get(f.fqdn("priv"), "/", "-H", "Cookie: vmctl_session=" + f.session(f.dave))
                .status())
        .isEqualTo(403);
    // A login token is not a session.
    assertThat(
            f.curl
                .get(f.fqdn("priv"), "/", "-H", "Cookie: vmctl_session=" + f.login(f.ada))
                .status())
        .isEqualTo(403);
  }

  @Test
  void logoutClearsTheCookieAndRevokesTheSession() throws Exception {
    String session = f.session(f.ada);
    String header = "Cookie: vmctl_session=" + session;
    assertThat(f.curl.get(f.fqdn("priv"), "/", "-H", header).status()).isEqualTo(200);
    Curl.Response out = f.curl.get(f.fqdn("priv"), "/__vmctl/logout", "-H", header);
    assertThat(out.status()).isEqualTo(200);
    assertThat(out.header("set-cookie").get(0)).startsWith("vmctl_session=;").contains("Max-Age=0");
    assertThat(f.curl.get(f.fqdn("priv"), "/", "-H", header).status()).isEqualTo(403);
  }

  @Test
  void loginRedirectNeverLeavesTheDomain() throws Exception {
    for (String next :
        List.of(
            "https://evil.example/",
            "http://" + f.fqdn("priv") + "/",
            "https://vm.localhost.evil.example/",
            "//evil.example/",
            "javascript:alert(1)")) {
      Curl.Response r =
          f.curl.get(
              "vm.localhost",
              "/__vmctl/login/"
                  + f.login(f.ada)
                  + "?next="
                  + java.net.URLEncoder.encode(next, StandardCharsets.UTF_8));
      assertThat(r.status()).as(next).isEqualTo(302);
      assertThat(r.header("location")).as(next).containsExactly("https://vm.localhost/");
    }
  }

  @Test
  void linkShareAdmitsTheHolderUntilRevoked() throws Exception {
    Curl.Response wrongHost = f.curl.get(f.fqdn("pub"), "/__vmctl/share/" + f.linkToken);
    assertThat(wrongHost.status()).isEqualTo(403);
    assertThat(f.curl.get(f.fqdn("priv"), "/__vmctl/share/wrong-token").status()).isEqualTo(403);

    Curl.Response open = f.curl.get(f.fqdn("priv"), "/__vmctl/share/" + f.linkToken);
    assertThat(open.status()).isEqualTo(302);
    assertThat(open.header("location")).containsExactly("/");
    String setCookie = open.header("set-cookie").get(0);
    assertThat(setCookie)
        .startsWith("vmctl_link=" + f.linkToken + ";")
        .contains("HttpOnly")
        .contains("Secure")
        .contains("SameSite=Lax")
        .doesNotContain("Domain=");

    String header = "Cookie: vmctl_link=" + f.linkToken;
    Curl.Response visit = f.curl.get(f.fqdn("priv"), "/headers", "-H", header);
    assertThat(visit.status()).isEqualTo(200);
    assertThat(visit.body()).doesNotContain("x-vmctl-userid").doesNotContain(f.linkToken);

    f.client.secrets().inNamespace(f.adaNs).withName("share-link1").delete();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> f.curl.get(f.fqdn("priv"), "/", "-H", header).status() == 403);
  }

  @Test
  void backendCannotSetGatewayOrParentDomainCookies() throws Exception {
    Curl.Response r = f.curl.get(f.fqdn("pub"), "/setcookie");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("set-cookie"))
        .anyMatch(c -> c.startsWith("app=1"))
        .anyMatch(c -> c.startsWith("own=1"))
        .noneMatch(c -> c.startsWith("vmctl_"))
        .noneMatch(c -> c.startsWith("toss="));
  }

  @Test
  void largeUploadAndDownloadStreamThrough() throws Exception {
    Path upload = Files.createTempFile(f.tmp, "up", ".bin");
    byte[] block = new byte[1 << 20];
    new Random(7).nextBytes(block);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (var out = Files.newOutputStream(upload)) {
      for (int i = 0; i < 64; i++) {
        out.write(block);
        sha.update(block);
      }
    }
    String expected = HexFormat.of().formatHex(sha.digest());
    for (String version : List.of("--http2", "--http1.1")) {
      Curl.Response up =
          f.curl.get(f.fqdn("pub"), "/upload", version, "-X", "POST", "-T", upload.toString());
      assertThat(up.status()).as(version).isEqualTo(200);
      assertThat(up.body())
          .as(version)
          .isEqualTo("bytes=" + (64L << 20) + " sha256=" + expected + "\n");
      Curl.Response down = f.curl.get(f.fqdn("pub"), "/download?bytes=" + (128L << 20), version);
      assertThat(down.status()).as(version).isEqualTo(200);
      assertThat(down.body()).as(version).isEqualTo("<" + (128L << 20) + " bytes>");
    }
    Files.delete(upload);
  }

  @Test
  void webSocketUpgradeIsPassedThrough() throws Exception {
    try (RawTls tls = new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("pub"))) {
      tls.send(
          "GET /ws HTTP/1.1\r\nHost: "
              + f.fqdn("pub")
              + "\r\nUpgrade: websocket\r\n"
              + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              + "Sec-WebSocket-Version: 13\r\n\r\n");
      String head = tls.readHead();
      assertThat(head)
          .startsWith("HTTP/1.1 101")
          .containsIgnoringCase("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      for (String text : List.of("hello", "again")) {
        tls.sendBytes(maskedTextFrame(text));
        byte[] frame = readFrame(tls);
        assertThat(new String(frame, StandardCharsets.UTF_8)).isEqualTo("echo: " + text);
      }
    }
  }

  private static byte[] maskedTextFrame(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    byte[] mask = {1, 2, 3, 4};
    byte[] frame = new byte[6 + payload.length];
    frame[0] = (byte) 0x81;
    frame[1] = (byte) (0x80 | payload.length);
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    return frame;
  }

  private static byte[] readFrame(RawTls tls) throws Exception {
    var in = tls.socket.getInputStream();
    int b0 = in.read();
    int len = in.read() & 0x7f;
    assertThat(b0).isEqualTo(0x81);
    return in.readNBytes(len);
  }

  @Test
  void backendConnectionsAreKeptAliveAndReused() throws Exception {
    for (int i = 0; i < 8; i++) {
      assertThat(f.curl.get(f.fqdn("pool"), "/").status()).isEqualTo(200);
    }
    // Two event loops: at most one pooled connection each.
    assertThat(f.pooled.connections()).isBetween(1, 2);
  }

  @Test
  void hostileRequestsAreRejectedWithoutEffectOnOtherTraffic() throws Exception {
    String host = f.fqdn("pub");
    try (RawTls smuggle = new RawTls(f.certs.caCert, f.gateway.httpsPort(), host)) {
      smuggle.send(
          "POST /headers HTTP/1.1\r\nHost: "
              + host
              + "\r\nContent-Length: 35\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nX: y\r\n\r\n");
      String answer = smuggle.readAll(3000);
      assertThat(answer).startsWith("HTTP/1.1 400").doesNotContain("HTTP/1.1 200");
    }
    assertThat(f.backend.paths).noneMatch(p -> p.contains("smuggled"));

    try (RawTls big = new RawTls(f.certs.caCert, f.gateway.httpsPort(), host)) {
      big.send("GET / HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n");
      assertThat(big.readAll(3000)).startsWith("HTTP/1.1 431");
      assertThat(big.closedByPeer()).isTrue();
    }
    for (String badHost :
        List.of("Host: a..vm.localhost\r\n", "Host: x/y\r\n", "", "Host: a\r\nHost: b\r\n")) {
      try (RawTls bad = new RawTls(f.certs.caCert, f.gateway.httpsPort(), host)) {
        bad.send("GET / HTTP/1.1\r\n" + badHost + "\r\n");
        assertThat(bad.readAll(3000)).as(badHost).startsWith("HTTP/1.1 400");
      }
    }
    try (RawTls garbage = new RawTls(f.certs.caCert, f.gateway.httpsPort(), host)) {
      garbage.sendBytes(new byte[] {0, 1, 2, 3, '\r', '\n', '\r', '\n'});
      assertThat(garbage.readAll(3000)).startsWith("HTTP/1.1 400");
    }
    try (RawTls other = new RawTls(f.certs.caCert, f.gateway.httpsPort(), f.fqdn("pub"))) {
      other.send("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
      assertThat(other.readAll(3000)).startsWith("HTTP/1.1 404");
    }
    try (var plain = new java.net.Socket("127.0.0.1", f.gateway.httpsPort())) {
      plain
          .getOutputStream()
          .write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      plain.setSoTimeout(5000);
      assertThat(plain.getInputStream().read())
          .as("plain HTTP on the TLS port is dropped")
          .isEqualTo(-1);
    }
    assertThat(f.curl.get(host, "/").status()).isEqualTo(200);
  }

  @Test
  void plainListenerRedirectsAndAnswersAcmeChallenges() throws Exception {
    int port = f.gateway.httpPort();
    List<String> base =
        List.of(
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--resolve",
            f.fqdn("pub") + ":" + port + ":127.0.0.1");
    assertThat(run(base, "http://" + f.fqdn("pub") + ":" + port + "/a/b?c=d"))
        .isEqualTo("301 https://" + f.fqdn("pub") + "/a/b?c=d");
    assertThat(
            run(
                List.of("curl", "-sS", "--resolve", f.fqdn("pub") + ":" + port + ":127.0.0.1"),
                "http://" + f.fqdn("pub") + ":" + port + "/.well-known/acme-challenge/tok1"))
        .isEqualTo("tok1.thumbprint");
    assertThat(
            run(base, "http://" + f.fqdn("pub") + ":" + port + "/.well-known/acme-challenge/other"))
        .startsWith("404");
  }

  private static String run(List<String> base, String url) throws Exception {
    List<String> cmd = new ArrayList<>(base);
    cmd.add(url);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out.trim();
  }

  @Test
  void landingPageListsOwnAndSharedVms() throws Exception {
    Curl.Response anonymous = f.curl.get("vm.localhost", "/");
    assertThat(anonymous.body()).contains("not signed in").contains("ssh -p 2222 localhost login");
    Curl.Response bob =
        f.curl.get("vm.localhost", "/", "-H", "Cookie: vmctl_session=" + f.session(f.bob));
    assertThat(bob.body())
        .contains(f.host("priv") + " (shared with you)")
        .doesNotContain(f.host("pub"));
    Curl.Response ada =
        f.curl.get("vm.localhost", "/", "-H", "Cookie: vmctl_session=" + f.session(f.ada));
    assertThat(ada.body()).contains("https://" + f.fqdn("pub") + "/").contains(f.host("priv"));
  }

  @Test
  void metricsCountRequestsByStatusAndBackendErrors() throws Exception {
    f.curl.get(f.fqdn("down"), "/");
    f.curl.get(f.fqdn("pub"), "/");
    String scrape = f.registry.scrape();
    assertThat(scrape)
        .contains("vmctl_https_requests_total{outcome=\"proxied\",status=\"200\"}")
        .contains("vmctl_https_backend_errors_total{reason=\"connect\"}")
        .contains("vmctl_https_request_duration_seconds_bucket")
        .contains("vmctl_https_active_connections");
    Counter ok = f.registry.find("vmctl_https_requests").tag("status", "200").counter();
    assertThat(ok).isNotNull();
    assertThat(ok.count()).isPositive();
  }
}
