package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.vmctl.https.tls.CertifiedKey;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.Session;

/**
 * ACME against a real Pebble and Secrets in a real kube-apiserver: HTTP-01 issuance, restart
 * without re-issuing, renewal swapped under a live TLS listener, failures keep the current
 * certificate, and a wildcard through DNS-01 via the webhook provider.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class AcmeCertificatesKubeTest {
  @TempDir Path work;
  private HttpServer http01Server;
  private PebbleServer pebble;
  private final PendingHttp01 http01 = new PendingHttp01();
  private final AtomicBoolean answerChallenges = new AtomicBoolean(true);
  private final AtomicReference<Http01Challenges> answering = new AtomicReference<>(http01);
  private final String suffix = new BigInteger(32, new SecureRandom()).toString(36);

  @BeforeEach
  void startPebble() throws Exception {
    // Stand-in for the serving side's plain-HTTP listener (not in this module yet): it answers
    // /.well-known/acme-challenge/<token> from Http01Challenges, as the real one must.
    http01Server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http01Server.createContext(
        "/.well-known/acme-challenge/",
        exchange -> {
          String token = exchange.getRequestURI().getPath().replaceFirst(".*/", "");
          Optional<String> answer =
              answerChallenges.get() ? answering.get().keyAuthorization(token) : Optional.empty();
          respond(exchange, answer.isPresent() ? 200 : 404, answer.orElse("no such challenge"));
        });
    http01Server.start();
    pebble = new PebbleServer(work, http01Server.getAddress().getPort());
  }

  @AfterEach
  void stop() throws Exception {
    if (pebble != null) {
      pebble.close();
    }
    if (http01Server != null) {
      http01Server.stop(0);
    }
  }

  @Test
  void issuesOverHttp01StoresSecretsAndRestartsWithoutReissuing(KubeEnv env) throws Exception {
    KubernetesClient client = env.client();
    CertificateRequest request =
        new CertificateRequest("web", List.of("web-" + suffix + ".example.test"));
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MutableClock clock = new MutableClock();
    AcmeCertificates first = certificates(env, request, DnsProvider.NONE, clock, registry);
    first.loadStored();
    assertThat(first.forServerName(request.domains().get(0))).isEmpty();

    assertThat(first.checkNow()).isEqualTo(1);
    CertifiedKey issued = first.forServerName(request.domains().get(0)).orElseThrow();
    assertThat(http01.keyAuthorization("anything")).isEmpty(); // challenges withdrawn

    Secret tls = client.secrets().inNamespace(env.namespace()).withName("vmctl-tls-web").get();
    assertThat(tls.getType()).isEqualTo("kubernetes.io/tls");
    assertThat(tls.getData()).containsKeys("tls.crt", "tls.key");
    assertThat(client.secrets().inNamespace(env.namespace()).withName("vmctl-acme-account").get())
        .isNotNull();
    java.util.regex.Matcher expiry =
        java.util.regex.Pattern.compile(
                "vmctl_https_certificate_expiry_seconds\\{name=\"web\"} ([0-9.E]+)")
            .matcher(registry.scrape());
    assertThat(expiry.find()).isTrue();
    assertThat(Double.parseDouble(expiry.group(1)))
        .isBetween(89 * 86400.0, 91 * 86400.0); // Pebble's 90-day profile

    // A restart (new instance, same Secrets) serves the stored certificate and orders nothing.
    AcmeCertificates restarted = certificates(env, request, DnsProvider.NONE, clock, registry());
    restarted.loadStored();
    assertThat(restarted.checkNow()).isZero();
    assertThat(serial(restarted.current("web").orElseThrow())).isEqualTo(serial(issued));

    // A second replica that never loaded anything takes the stored one instead of ordering.
    AcmeCertificates replica = certificates(env, request, DnsProvider.NONE, clock, registry());
    answerChallenges.set(false); // an order would fail now: proves none is placed
    assertThat(replica.checkNow()).isZero();
    assertThat(serial(replica.current("web").orElseThrow())).isEqualTo(serial(issued));
    answerChallenges.set(true);
  }

  @Test
  void renewalSwapsUnderALiveListenerAndFailuresKeepTheCurrentCertificate(KubeEnv env)
      throws Exception {
    String host = "live-" + suffix + ".example.test";
    CertificateRequest request = new CertificateRequest("live", List.of(host));
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MutableClock clock = new MutableClock();
    AcmeCertificates certs = certificates(env, request, DnsProvider.NONE, clock, registry);
    assertThat(certs.checkNow()).isEqualTo(1);
    BigInteger firstSerial = serial(certs.current("live").orElseThrow());

    try (TlsEchoServer server = new TlsEchoServer(new StoreKeyManager(certs));
        TlsEchoClient before = new TlsEchoClient(server.port(), host)) {
      assertThat(before.serial()).isEqualTo(firstSerial);
      assertThat(before.echo("one")).isEqualTo("one");

      // 61 days on, a third of the 90-day lifetime is left: due. First the CA cannot validate.
      clock.advance(Duration.ofDays(61));
      answerChallenges.set(false);
      assertThat(certs.checkNow()).isZero();
      assertThat(serial(certs.current("live").orElseThrow())).isEqualTo(firstSerial);
      assertThat(registry.scrape())
          .contains("vmctl_https_certificate_failures_total{name=\"live\"} 1.0");
      assertThat(certs.checkNow()).isZero(); // backing off: no new order yet
      assertThat(registry.scrape())
          .contains("vmctl_https_certificate_failures_total{name=\"live\"} 1.0");

      // After the backoff, with the challenge answered again, the renewal goes through.
      answerChallenges.set(true);
      clock.advance(Duration.ofMinutes(2));
      assertThat(certs.checkNow()).isEqualTo(1);
      BigInteger renewed = serial(certs.current("live").orElseThrow());
      assertThat(renewed).isNotEqualTo(firstSerial);

      try (TlsEchoClient after = new TlsEchoClient(server.port(), host)) {
        assertThat(after.serial()).isEqualTo(renewed);
        assertThat(after.echo("two")).isEqualTo("two");
      }
      // The connection opened before the swap still works, on its original certificate.
      assertThat(before.echo("three")).isEqualTo("three");
      assertThat(before.serial()).isEqualTo(firstSerial);
    }
    // The renewed certificate is what the Secret holds now.
    AcmeCertificates restarted = certificates(env, request, DnsProvider.NONE, clock, registry());
    restarted.loadStored();
    assertThat(serial(restarted.current("live").orElseThrow())).isNotEqualTo(firstSerial);
  }

  @Test
  void wildcardOverDns01ThroughTheWebhook(KubeEnv env) throws Exception {
    String domain = "w" + suffix + ".example.test";
    CertificateRequest request = CertificateRequest.wildcard(domain);
    List<String> calls = new CopyOnWriteArrayList<>();
    HttpServer webhook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    ObjectMapper json = new ObjectMapper();
    // The test's DNS "provider": relays present/cleanup to challtestsrv, Pebble's DNS.
    webhook.createContext(
        "/dns",
        exchange -> {
          try {
            if (!"Bearer hook-token"
                .equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
              respond(exchange, 401, "bad token");
              return;
            }
            JsonNode body = json.readTree(exchange.getRequestBody());
            String action = body.get("action").asText();
            String fqdn = body.get("fqdn").asText();
            calls.add(action + " " + fqdn);
            if (action.equals("present")) {
              pebble.challtest(
                  "/set-txt",
                  json.writeValueAsString(
                      java.util.Map.of("host", fqdn, "value", body.get("value").asText())));
            } else {
              pebble.challtest(
                  "/clear-txt", json.writeValueAsString(java.util.Map.of("host", fqdn)));
            }
            respond(exchange, 200, "ok");
          } catch (Exception e) {
            respond(exchange, 500, e.toString());
          }
        });
    webhook.start();
    try {
      URI hook = URI.create("http://127.0.0.1:" + webhook.getAddress().getPort() + "/dns");
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      // First with a wrong token: a clear failure, counted, nothing served.
      AcmeCertificates wrong =
          certificates(
              env,
              request,
              new WebhookDnsProvider(hook, Optional.of("wrong"), Duration.ofSeconds(5)),
              new MutableClock(),
              registry);
      assertThat(wrong.checkNow()).isZero();
      assertThat(wrong.forServerName("a." + domain)).isEmpty();
      assertThat(registry.scrape())
          .contains("vmctl_https_certificate_failures_total{name=\"wildcard\"} 1.0");

      AcmeCertificates certs =
          certificates(
              env,
              request,
              new WebhookDnsProvider(hook, Optional.of("hook-token"), Duration.ofSeconds(5)),
              new MutableClock(),
              registry());
      assertThat(certs.checkNow()).isEqualTo(1);
      CertifiedKey wildcard = certs.forServerName("anything." + domain).orElseThrow();
      assertThat(certs.forServerName(domain)).contains(wildcard);
      assertThat(wildcard.chain().get(0).getSubjectAlternativeNames())
          .extracting(san -> (Object) san.get(1))
          .containsExactlyInAnyOrder("*." + domain, domain);
      assertThat(calls)
          .contains(
              "present _acme-challenge." + domain + ".", "cleanup _acme-challenge." + domain + ".");
    } finally {
      webhook.stop(0);
    }
  }

  @Test
  void fromEnvInAcmeModeIssuesInTheBackground(KubeEnv env) throws Exception {
    String host = "env-" + suffix + ".example.test";
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CertificateSources sources =
        CertificateSources.fromEnv(
            Map.of(
                "VMCTL_TLS_MODE",
                "acme",
                "VMCTL_NAMESPACE",
                env.namespace(),
                "VMCTL_ACME_DIRECTORY",
                pebble.directory().toString(),
                "VMCTL_ACME_CERTIFICATES",
                "env=" + host),
            env.client(),
            registry);
    answering.set(sources.challenges());
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> sources.store().forServerName(host).isPresent());
      assertThat(
              env.client().secrets().inNamespace(env.namespace()).withName("vmctl-tls-env").get())
          .isNotNull();
    } finally {
      sources.closer().close();
    }
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(Thread.getAllStackTraces().keySet())
                    .extracting(Thread::getName)
                    .doesNotContain("vmctl-acme-renewal"));
  }

  private AcmeCertificates certificates(
      KubeEnv env,
      CertificateRequest request,
      DnsProvider dns,
      Clock clock,
      PrometheusMeterRegistry registry) {
    AcmeIssuer issuer =
        new AcmeIssuer(
            new Session(pebble.directory()),
            AccountKeySecret.loadOrCreate(env.client(), env.namespace()),
            Optional.empty(),
            http01,
            dns,
            new DnsPropagation(
                List.of(pebble.dnsResolver()), Duration.ZERO, Duration.ofSeconds(10)),
            Duration.ofSeconds(30));
    return new AcmeCertificates(
        List.of(request),
        new TlsSecrets(env.client(), env.namespace()),
        issuer,
        http01,
        RenewalPolicy.DEFAULT,
        new Backoff(Duration.ofMinutes(1), Duration.ofMinutes(10)),
        Duration.ofHours(1),
        clock,
        registry);
  }

  private static PrometheusMeterRegistry registry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  private static BigInteger serial(CertifiedKey key) {
    return key.chain().get(0).getSerialNumber();
  }

  private static void respond(HttpExchange exchange, int status, String body)
      throws java.io.IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  /** A clock the test moves forward (renewal is a matter of months). */
  static final class MutableClock extends Clock {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.now());

    void advance(Duration d) {
      now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public Instant instant() {
      return now.get();
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  /** A JDK TLS line-echo server whose certificates come from the store, per handshake. */
  static final class TlsEchoServer implements AutoCloseable {
    private final SSLServerSocket socket;
    private final Thread acceptor;

    TlsEchoServer(StoreKeyManager keys) throws Exception {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {keys}, null, null);
      socket =
          (SSLServerSocket)
              context
                  .getServerSocketFactory()
                  .createServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      acceptor =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    SSLSocket s = (SSLSocket) socket.accept();
                    Thread t = new Thread(() -> echo(s), "tls-echo");
                    t.setDaemon(true);
                    t.start();
                  } catch (java.io.IOException e) {
                    return;
                  }
                }
              },
              "tls-echo-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    private static void echo(SSLSocket s) {
      try (s;
          BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream()));
          PrintWriter out = new PrintWriter(s.getOutputStream(), true)) {
        String line;
        while ((line = in.readLine()) != null) {
          out.println(line);
        }
      } catch (java.io.IOException e) {
        // client went away
      }
    }

    @Override
    public void close() throws Exception {
      socket.close();
      acceptor.join(5000);
    }
  }

  /** A TLS client sending SNI; it trusts any certificate because it only reports the serial. */
  static final class TlsEchoClient implements AutoCloseable {
    private final SSLSocket socket;
    private final BufferedReader in;
    private final PrintWriter out;

    TlsEchoClient(int port, String serverName) throws Exception {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new TrustAll()}, null);
      socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(serverName)));
      socket.setSSLParameters(params);
      socket.startHandshake();
      in = new BufferedReader(new InputStreamReader(socket.getInputStream()));
      out = new PrintWriter(socket.getOutputStream(), true);
    }

    BigInteger serial() throws Exception {
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    String echo(String line) throws Exception {
      out.println(line);
      return in.readLine();
    }

    @Override
    public void close() throws Exception {
      socket.close();
    }
  }

  static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
