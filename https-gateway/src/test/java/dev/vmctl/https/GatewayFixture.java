package dev.vmctl.https;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.https.server.HttpsGateway;
import dev.vmctl.https.server.Limits;
import dev.vmctl.https.tls.PemCertificateStore;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A gateway in front of a real API server and real backends: Users ada (owner), bob (email share),
 * carol (nobody) and dave (disabled); VMs of ada's in every state the tests need.
 */
final class GatewayFixture implements AutoCloseable {
  final String sfx;
  final String ada;
  final String bob;
  final String carol;
  final String dave;
  final String adaNs;
  final Path tmp;
  final TestCerts certs;
  final TestBackend backend;
  final TestBackend pooled;
  final SignedTokens tokens;
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final Directory directory;
  final HttpsGateway gateway;
  final Curl curl;
  final String linkToken;
  final KubernetesClient client;

  /** The limits most tests run with: short enough for tests, long enough never to interfere. */
  static final Limits LIMITS =
      new Limits(
          Duration.ofSeconds(30),
          Duration.ofSeconds(20),
          Duration.ofSeconds(2),
          16384,
          8192,
          Duration.ofSeconds(10),
          256);

  GatewayFixture(KubeEnv env) throws Exception {
    this(env, LIMITS, "127.0.0.1");
  }

  /**
   * @param httpBind the plain-HTTP listener's address (the TLS listener is on 127.0.0.1)
   */
  GatewayFixture(KubeEnv env, Limits limits, String httpBind) throws Exception {
    client = env.client();
    sfx = env.namespace().substring(env.namespace().length() - 5).replaceAll("[^a-z0-9]", "x");
    ada = "ada-" + sfx;
    bob = "bob-" + sfx;
    carol = "carol-" + sfx;
    dave = "dave-" + sfx;
    adaNs = "user-" + ada;
    tmp = Files.createTempDirectory("vmctl-https-test");
    certs = TestCerts.create(tmp);
    Path leaf = certs.leaf("wildcard", 2, "*.vm.localhost", "vm.localhost");
    backend = new TestBackend("a");
    pooled = new TestBackend("pooled");

    client
        .resource(new NamespaceBuilder().withNewMetadata().withName(adaNs).endMetadata().build())
        .create();
    user(ada, "Ada@Example.com", false);
    user(bob, "bob@example.com", false);
    user(carol, "carol@example.com", false);
    user(dave, "dave@example.com", true);

    vm(host("priv"), false, backend.port(), VmPhase.Running, "127.0.0.1", null);
    vm(host("pub"), true, backend.port(), VmPhase.Running, "127.0.0.1", null);
    vm(host("stop"), true, backend.port(), VmPhase.Stopped, "127.0.0.1", null);
    vm(host("down"), true, closedPort(), VmPhase.Running, "127.0.0.1", null);
    vm(host("guest"), true, null, VmPhase.Running, "127.0.0.1", List.of(65000, 22, backend.port()));
    vm(host("pool"), true, pooled.port(), VmPhase.Running, "127.0.0.1", null);

    Share toBob = share("to-bob", host("priv"));
    toBob.getSpec().email = "BOB@example.com";
    bind(client.resource(toBob).create());
    Share link = share("link1", host("priv"));
    link.getSpec().link = true;
    bind(client.resource(link).create());
    linkToken = "lt-" + sfx + "-0123456789abcdef";
    client
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName("share-link1")
                .withNamespace(adaNs)
                .withLabels(Map.of(Share.SHARE_LABEL, "link1"))
                .endMetadata()
                .withStringData(Map.of("token", linkToken))
                .build())
        .create();

    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    tokens = new SignedTokens(key, Clock.systemUTC());
    directory = Directory.start(client, true, Duration.ofSeconds(30));
    gateway =
        HttpsGateway.start(
            new HttpsGateway.Setup(
                Domain.parse("vm.localhost"),
                "127.0.0.1",
                0,
                httpBind,
                0,
                limits,
                2,
                "localhost:2222"),
            directory,
            tokens,
            new PemCertificateStore(List.of(leaf), Clock.systemUTC(), Duration.ofSeconds(1)),
            token -> token.equals("tok1") ? Optional.of("tok1.thumbprint") : Optional.empty(),
            registry,
            Clock.systemUTC());
    curl = new Curl(certs.caCert, gateway.httpsPort(), tmp);
  }

  /** A VM's web host name, e.g. {@code priv-ab12c.vm.localhost}. */
  String host(String vm) {
    return vm + "-" + sfx;
  }

  String fqdn(String vm) {
    return host(vm) + ".vm.localhost";
  }

  String login(String user) {
    return tokens.issue(SignedTokens.Purpose.LOGIN, user, Duration.ofMinutes(5));
  }

  String session(String user) {
    return tokens.issue(SignedTokens.Purpose.SESSION, user, Duration.ofHours(1));
  }

  private void user(String name, String email, boolean disabled) {
    User user = new User();
    user.setMetadata(new ObjectMetaBuilder().withName(name).build());
    user.setSpec(new User.Spec());
    user.getSpec().email = email;
    user.getSpec().namespace = name.equals(ada) ? adaNs : null;
    user.getSpec().disabled = disabled ? Boolean.TRUE : null;
    User created = client.resource(user).create();
    // What the operator writes once it has provisioned the User's namespace (Ownership).
    created.setStatus(new User.Status());
    created.getStatus().namespace = name.equals(ada) ? adaNs : "user-" + name;
    client.resource(created).updateStatus();
  }

  /** What the operator writes when a Share first applies: the uid of its VM. */
  void bind(Share share) {
    VirtualMachine vm =
        client
            .resources(VirtualMachine.class)
            .inNamespace(adaNs)
            .withName(share.getSpec().vm)
            .get();
    share.setStatus(new Share.Status());
    share.getStatus().vmUid = vm.getMetadata().getUid();
    client.resource(share).updateStatus();
  }

  void vm(
      String name,
      boolean isPublic,
      Integer port,
      VmPhase phase,
      String ip,
      List<Integer> guestPorts) {
    VirtualMachine vm = new VirtualMachine();
    vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(adaNs).build());
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().owner = ada;
    if (isPublic || port != null) {
      vm.getSpec().http = new VirtualMachineSpec.HttpSpec();
      vm.getSpec().http.port = port;
      vm.getSpec().http.isPublic = isPublic ? Boolean.TRUE : null;
    }
    VirtualMachine created = client.resource(vm).create();
    VirtualMachineStatus status = new VirtualMachineStatus();
    status.phase = phase;
    status.ipAddress = ip;
    status.nodeName = "host-of-" + name; // every backend is on 127.0.0.1: one host each
    if (guestPorts != null) {
      status.guest = new VirtualMachineStatus.GuestStatus();
      status.guest.listeningPorts = guestPorts;
    }
    created.setStatus(status);
    client.resource(created).updateStatus();
  }

  private Share share(String name, String vm) {
    Share share = new Share();
    share.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(adaNs).build());
    share.setSpec(new Share.Spec());
    share.getSpec().vm = vm;
    return share;
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws Exception {
    gateway.close();
    directory.close();
    backend.close();
    pooled.close();
    client.namespaces().withName(adaNs).delete();
    for (String user : List.of(ada, bob, carol, dave)) {
      client.resources(User.class).withName(user).delete();
    }
    try (var files = Files.walk(tmp)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
