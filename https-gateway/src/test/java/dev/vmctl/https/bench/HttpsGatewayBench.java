package dev.vmctl.https.bench;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.https.Domain;
import dev.vmctl.https.TestCerts;
import dev.vmctl.https.server.HttpsGateway;
import dev.vmctl.https.server.Limits;
import dev.vmctl.https.tls.Http01Challenges;
import dev.vmctl.https.tls.PemCertificateStore;
import dev.vmctl.testkit.KubeApiServer;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeBinaries;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTTPS gateway vs nginx (not a test): both terminate TLS on loopback and proxy small responses to
 * the same backend over keep-alive connections; wrk measures requests per second and p99 latency
 * for each in one run. Run with hack/bench-https-gateway.sh.
 */
public final class HttpsGatewayBench {
  private static final String HOST = "bench.vm.localhost";

  public static void main(String[] args) throws Exception {
    int seconds = Integer.parseInt(System.getProperty("seconds", "15"));
    int connections = Integer.parseInt(System.getProperty("connections", "50"));
    int threads = Integer.parseInt(System.getProperty("threads", "2"));
    Path dir = Files.createTempDirectory("vmctl-bench-https-");
    TestCerts certs = TestCerts.create(dir);
    Path leaf = certs.leaf("wildcard", 2, "*.vm.localhost", "vm.localhost");
    try (KubeApiServer server = KubeApiServer.start(KubeBinaries.locate(), dir.resolve("kube"), 0);
        KubernetesClient client = server.adminClient()) {
      KubeApiServerExtension.installCrds(client, Path.of(System.getProperty("vmctl.crds", "crds")));
      // The backend is an nginx server block in its own process, so that neither proxy shares a
      // JVM (heap, GC pauses) with it.
      int backendPort = freePort();
      publicVm(client, backendPort);
      byte[] key = new byte[32];
      new SecureRandom().nextBytes(key);
      try (Directory directory = Directory.start(client, true, Duration.ofSeconds(30));
          HttpsGateway gateway =
              HttpsGateway.start(
                  new HttpsGateway.Setup(
                      Domain.parse("vm.localhost"),
                      "127.0.0.1",
                      0,
                      "127.0.0.1",
                      0,
                      Limits.DEFAULTS,
                      threads,
                      "localhost:2222"),
                  directory,
                  new SignedTokens(key, Clock.systemUTC()),
                  new PemCertificateStore(List.of(leaf), Clock.systemUTC(), Duration.ofSeconds(10)),
                  Http01Challenges.NONE,
                  new SimpleMeterRegistry(),
                  Clock.systemUTC())) {
        Process nginx = startNginx(dir, leaf, backendPort, threads);
        try {
          int nginxPort = Integer.parseInt(Files.readString(dir.resolve("nginx-port")).trim());
          System.out.printf(
              "wrk: %d threads, %d connections, %d s per target, keep-alive TLS (HTTP/1.1),"
                  + " GET /small (48-byte body) via each proxy to the same backend;"
                  + " gateway: %s TLS over %s%n",
              threads,
              connections,
              seconds,
              dev.vmctl.https.tls.SniContexts.provider(),
              HttpsGateway.transport());
          // Warm both (JIT, TLS session setup, backend pools), then RUNS rounds of nginx then
          // the gateway, back to back, so each ratio compares figures taken seconds apart.
          wrk(nginxPort, 3, connections, threads);
          wrk(gateway.httpsPort(), 10, connections, threads); // JIT needs longer than nginx
          int runs = Integer.getInteger("runs", 3);
          double[] ratios = new double[runs];
          double[] p99s = new double[runs];
          for (int run = 0; run < runs; run++) {
            Result ng = wrk(nginxPort, seconds, connections, threads);
            Result gw = wrk(gateway.httpsPort(), seconds, connections, threads);
            ratios[run] = gw.rps / ng.rps;
            p99s[run] = gw.p99 - ng.p99;
            System.out.printf(
                "run %d nginx          : %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms%n",
                run + 1, ng.rps, ng.p50, ng.p99);
            System.out.printf(
                "run %d https-gateway  : %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms   (%.2f of"
                    + " nginx, p99 %+.2f ms)%n",
                run + 1, gw.rps, gw.p50, gw.p99, ratios[run], p99s[run]);
          }
          System.out.printf(
              "ratio, median (min-max) of %d runs: %s of nginx's requests/s (target >= 1.0);"
                  + " p99 vs nginx %s ms (target <= +0.5 ms)%n",
              runs, spread(ratios, "%.2f"), spread(p99s, "%+.2f"));
        } finally {
          nginx.destroy();
          if (!nginx.waitFor(5, TimeUnit.SECONDS)) {
            nginx.destroyForcibly();
          }
        }
      }
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void publicVm(KubernetesClient client, int port) {
    client
        .resource(new NamespaceBuilder().withNewMetadata().withName("bench").endMetadata().build())
        .create();
    VirtualMachine vm = new VirtualMachine();
    vm.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace("bench").build());
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().http = new VirtualMachineSpec.HttpSpec();
    vm.getSpec().http.port = port;
    vm.getSpec().http.isPublic = true;
    VirtualMachine created = client.resource(vm).create();
    created.setStatus(new VirtualMachineStatus());
    created.getStatus().phase = VmPhase.Running;
    created.getStatus().ipAddress = "127.0.0.1";
    client.resource(created).updateStatus();
  }

  /** nginx as a TLS-terminating reverse proxy with an upstream keep-alive pool, like ours. */
  private static Process startNginx(Path dir, Path leaf, int backendPort, int workers)
      throws Exception {
    int port = freePort();
    Files.writeString(dir.resolve("nginx-port"), Integer.toString(port));
    Files.createDirectories(dir.resolve("nginx/logs"));
    String conf =
        """
        worker_processes %d;
        error_log %s/nginx/logs/error.log warn;
        pid %s/nginx/nginx.pid;
        daemon off;
        events { worker_connections 4096; }
        http {
          access_log off;
          client_body_temp_path %s/nginx/body;
          proxy_temp_path %s/nginx/proxy;
          fastcgi_temp_path %s/nginx/fastcgi;
          uwsgi_temp_path %s/nginx/uwsgi;
          scgi_temp_path %s/nginx/scgi;
          upstream vm { server 127.0.0.1:%d; keepalive 64; }
          server {
            listen 127.0.0.1:%d;
            keepalive_requests 10000000;
            location / { default_type text/plain; return 200 "small response from the backend, 48 bytes.\n"; }
          }
          server {
            listen 127.0.0.1:%d ssl;
            server_name *.vm.localhost;
            ssl_certificate %s/tls.crt;
            ssl_certificate_key %s/tls.key;
            location / {
              proxy_pass http://vm;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_set_header Host $host;
              proxy_set_header X-Forwarded-For $remote_addr;
              proxy_set_header X-Forwarded-Proto https;
            }
          }
        }
        """
            .formatted(
                workers,
                dir,
                dir,
                dir,
                dir,
                dir,
                dir,
                dir,
                backendPort,
                backendPort,
                port,
                leaf,
                leaf);
    Path confFile = dir.resolve("nginx/nginx.conf");
    Files.writeString(confFile, conf);
    Process p =
        new ProcessBuilder(
                "nginx", "-p", dir.resolve("nginx").toString(), "-c", confFile.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("nginx/logs/stdout.log").toFile())
            .start();
    for (int i = 0; i < 50; i++) {
      try (var s = new java.net.Socket("127.0.0.1", port)) {
        return p;
      } catch (java.io.IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException(
        "nginx did not start: " + Files.readString(dir.resolve("nginx/logs/stdout.log")));
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  record Result(double rps, double p50, double p99) {}

  private static String spread(double[] values, String format) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    int n = v.length;
    double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return String.format(format + " (" + format + " to " + format + ")", median, v[0], v[n - 1]);
  }

  private static Result wrk(int port, int seconds, int connections, int threads) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "wrk",
                "-t" + threads,
                "-c" + connections,
                "-d" + seconds + "s",
                "--latency",
                "-H",
                "Host: " + HOST,
                "https://127.0.0.1:" + port + "/small"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    if (out.contains("Non-2xx") || out.contains("Socket errors")) {
      System.out.println("wrk reported errors:\n" + out);
    }
    return new Result(
        number(out, "Requests/sec:\\s+([0-9.]+)"), millis(out, "50%"), millis(out, "99%"));
  }

  private static double number(String out, String regex) {
    Matcher m = Pattern.compile(regex).matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("cannot parse wrk output:\n" + out);
    }
    return Double.parseDouble(m.group(1));
  }

  private static double millis(String out, String percentile) {
    Matcher m = Pattern.compile(percentile + "\\s+([0-9.]+)(us|ms|s)").matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("cannot parse wrk latency:\n" + out);
    }
    double v = Double.parseDouble(m.group(1));
    return switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "us" -> v / 1000;
      case "s" -> v * 1000;
      default -> v;
    };
  }
}
