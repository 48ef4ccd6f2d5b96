package dev.vmctl.testkit;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real etcd + kube-apiserver pair on loopback. Used by tests (one per JVM, see {@link
 * KubeApiServerExtension}) and by {@code hack/local-up.sh} (through {@link #main}).
 *
 * <p>Authentication is a static bearer token for an administrator in {@code system:masters}; tests
 * that need a less privileged identity impersonate it, so RBAC is exercised for real.
 */
public final class KubeApiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeApiServer.class);
  static final String ADMIN_USER = "vmctl-admin";

  private final KubeBinaries binaries;
  private final Path workDir;
  private final int apiPort;
  private final String token;
  private final List<Process> processes = new ArrayList<>();

  private KubeApiServer(KubeBinaries binaries, Path workDir, int apiPort, String token) {
    this.binaries = binaries;
    this.workDir = workDir;
    this.apiPort = apiPort;
    this.token = token;
  }

  /**
   * Starts etcd and kube-apiserver with state under {@code workDir}. With {@code apiPort} 0 a free
   * port is chosen. A token file already in the directory is reused, so a restart keeps kubeconfigs
   * valid.
   */
  public static KubeApiServer start(KubeBinaries binaries, Path workDir, int apiPort)
      throws IOException {
    Files.createDirectories(workDir);
    Path tokenFile = workDir.resolve("admin.token");
    String token;
    if (Files.exists(tokenFile)) {
      token = Files.readString(tokenFile).trim();
    } else {
      byte[] random = new byte[24];
      new SecureRandom().nextBytes(random);
      token = HexFormat.of().formatHex(random);
      Files.writeString(tokenFile, token);
    }
    KubeApiServer server =
        new KubeApiServer(binaries, workDir, apiPort == 0 ? freePort() : apiPort, token);
    try {
      server.startProcesses();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startProcesses() throws IOException {
    Instant begin = Instant.now();
    int etcdClientPort = freePort();
    int etcdPeerPort = freePort();
    Path etcdData = workDir.resolve("etcd");
    String etcdUrl = "http://127.0.0.1:" + etcdClientPort;
    processes.add(
        launch(
            "etcd",
            List.of(
                binaries.etcd().toString(),
                "--name=vmctl",
                "--data-dir=" + etcdData,
                "--listen-client-urls=" + etcdUrl,
                "--advertise-client-urls=" + etcdUrl,
                "--listen-peer-urls=http://127.0.0.1:" + etcdPeerPort,
                "--initial-advertise-peer-urls=http://127.0.0.1:" + etcdPeerPort,
                "--initial-cluster=vmctl=http://127.0.0.1:" + etcdPeerPort,
                "--unsafe-no-fsync=true",
                "--log-level=warn")));

    Path pki = workDir.resolve("pki");
    Files.createDirectories(pki);
    Path saKey = pki.resolve("sa.key");
    Path saPub = pki.resolve("sa.pub");
    if (!Files.exists(saKey)) {
      writeServiceAccountKeys(saKey, saPub);
    }
    Path tokens = pki.resolve("tokens.csv");
    Files.writeString(tokens, token + "," + ADMIN_USER + ",1000,system:masters\n");

    processes.add(
        launch(
            "kube-apiserver",
            List.of(
                binaries.kubeApiServer().toString(),
                "--etcd-servers=" + etcdUrl,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--secure-port=" + apiPort,
                "--cert-dir=" + pki.resolve("serving"),
                "--token-auth-file=" + tokens,
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-account-key-file=" + saPub,
                "--service-account-signing-key-file=" + saKey,
                "--service-cluster-ip-range=10.96.0.0/24",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=0")));
    waitUntilReady(Duration.ofSeconds(90));
    writeKubeconfig();
    log.info(
        "kube-apiserver ready at {} in {} ms",
        url(),
        Duration.between(begin, Instant.now()).toMillis());
  }

  private Process launch(String name, List<String> command) throws IOException {
    // A small shell watchdog ends the child when this JVM goes away, even on kill -9,
    // so an interrupted test run never leaves etcd or kube-apiserver behind.
    long jvm = ProcessHandle.current().pid();
    List<String> wrapped = new ArrayList<>();
    wrapped.add("/bin/sh");
    wrapped.add("-c");
    wrapped.add(
        "\"$@\" & child=$!; "
            + "trap 'kill $child 2>/dev/null; wait $child; exit 0' TERM INT; "
            + "while kill -0 "
            + jvm
            + " 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; "
            + "kill $child 2>/dev/null; wait $child");
    wrapped.add(name);
    wrapped.addAll(command);
    Path logFile = workDir.resolve(name + ".log");
    Process process =
        new ProcessBuilder(wrapped)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
            .start();
    log.debug("started {} (pid {}), log in {}", name, process.pid(), logFile);
    return process;
  }

  private void waitUntilReady(Duration timeout) throws IOException {
    HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(url() + "/readyz"))
            .header("Authorization", "Bearer " + token)
            .timeout(Duration.ofSeconds(5))
            .build();
    Instant deadline = Instant.now().plus(timeout);
    String last = "no answer";
    while (Instant.now().isBefore(deadline)) {
      for (Process p : processes) {
        if (!p.isAlive()) {
          throw new IllegalStateException(
              "a control-plane process exited early; see logs in " + workDir);
        }
      }
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
        last = response.statusCode() + " " + response.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for kube-apiserver", e);
      }
      sleep(200);
    }
    throw new IllegalStateException(
        "kube-apiserver not ready after " + timeout + " (" + last + "); logs in " + workDir);
  }

  private void writeKubeconfig() throws IOException {
    String kubeconfig =
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: vmctl
          cluster:
            server: %s
            insecure-skip-tls-verify: true
        users:
        - name: admin
          user:
            token: %s
        contexts:
        - name: vmctl
          context:
            cluster: vmctl
            user: admin
            namespace: default
        current-context: vmctl
        """
            .formatted(url(), token);
    Path file = kubeconfig();
    Files.writeString(file, kubeconfig);
    file.toFile().setReadable(false, false);
    file.toFile().setReadable(true, true);
  }

  public String url() {
    return "https://127.0.0.1:" + apiPort;
  }

  public Path kubeconfig() {
    return workDir.resolve("kubeconfig");
  }

  public KubeBinaries binaries() {
    return binaries;
  }

  /** Client configuration for the administrator. */
  public Config adminConfig() {
    try {
      return Config.fromKubeconfig(Files.readString(kubeconfig()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public KubernetesClient adminClient() {
    return new KubernetesClientBuilder().withConfig(adminConfig()).build();
  }

  /** A client that acts as {@code user} in {@code groups}; RBAC applies to it for real. */
  public KubernetesClient clientAs(String user, String... groups) {
    Config config = adminConfig();
    config.setImpersonateUsername(user);
    config.setImpersonateGroups(groups);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      Process p = processes.get(i);
      p.destroy();
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    processes.clear();
  }

  private static void writeServiceAccountKeys(Path key, Path pub) throws IOException {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      KeyPair pair = generator.generateKeyPair();
      Files.writeString(key, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
      Files.writeString(pub, pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot generate the service-account key", e);
    }
  }

  private static String pem(String type, byte[] der) {
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  /** The serving certificate is self-signed by kube-apiserver; the readiness probe only. */
  private static SSLContext trustAll() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      TrustManager trustAll =
          new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return new X509Certificate[0];
            }
          };
      context.init(null, new TrustManager[] {trustAll}, new SecureRandom());
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Runs a persistent API server until the process is stopped: {@code KubeApiServer <state-dir>
   * <port>}. Used by hack/local-up.sh.
   */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args.length > 0 ? args[0] : ".vmctl/kube");
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 6443;
    KubeApiServer server = start(KubeBinaries.locate(), dir, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    System.out.println("kube-apiserver ready at " + server.url());
    System.out.println("kubeconfig: " + server.kubeconfig());
    Thread.currentThread().join();
  }
}
