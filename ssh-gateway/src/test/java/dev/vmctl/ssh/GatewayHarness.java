package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.testkit.KubeEnv;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A gateway on an ephemeral port against the test's real API server, with two small fakes for the
 * controllers not under test: a User provisioner (namespace + RoleBinding, as the operator does)
 * and a node daemon that reports VMs Running at an address chosen by the test.
 */
final class GatewayHarness implements AutoCloseable {
  static final byte[] GATEWAY_KEY = "0123456789abcdef0123456789abcdef".getBytes();

  final KubeEnv env;
  final Path dir;
  final Directory directory;
  final PersonClients people;
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final SshGateway gateway;
  final GatewayContext context;
  final java.security.KeyPair proxyKey;
  private final Watch users;
  private final Watch vms;
  private final Watch shares;

  /** The address the fake node daemon reports for a VM name (default 10.255.255.1). */
  final Map<String, String> addresses = new ConcurrentHashMap<>();

  /** The SSH host keys the fake node daemon publishes for a VM name (none by default). */
  final Map<String, List<String>> hostKeys = new ConcurrentHashMap<>();

  /** A VM of that name served by the test sshd, which presents its own host key, published. */
  void vmAt(String name, NetnsSshd sshd) throws IOException {
    addresses.put(name, sshd.address);
    hostKeys.put(name, List.of(sshd.hostKey()));
  }

  volatile Function<VirtualMachine, VmPhase> phaseOf =
      vm ->
          vm.getSpec().runStrategy == dev.vmctl.api.v1alpha1.RunStrategy.Halted
              ? VmPhase.Stopped
              : VmPhase.Running;

  /** Conditions the fake node daemon reports with the phase (as the operator would), or none. */
  volatile Function<VirtualMachine, List<io.fabric8.kubernetes.api.model.Condition>> conditionsOf =
      vm -> null;

  GatewayHarness(KubeEnv env, Map<String, String> overrides) throws Exception {
    this.env = env;
    this.dir = Files.createTempDirectory("vmctl-ssh-test-");
    KubernetesClient admin = env.client();
    applyUserRole();
    users = admin.resources(User.class).watch(new Provisioner(admin));
    shares = admin.resources(Share.class).inAnyNamespace().watch(new ShareBinder(admin));
    vms = admin.resources(VirtualMachine.class).inAnyNamespace().watch(new NodeDaemon(admin));
    Map<String, String> settings = new HashMap<>();
    settings.put("VMCTL_SSH_PORT", "0");
    settings.put("VMCTL_GUEST_USER", "root");
    settings.put("VMCTL_DOMAIN", "vm.example.test");
    settings.put("VMCTL_SSH_MAX_AUTH_FAILURES", "1000");
    settings.put("VMCTL_SSH_NEW_TIMEOUT", "20s");
    settings.putAll(overrides);
    SshGatewayConfig config = SshGatewayConfig.fromEnvironment(settings);
    directory = Directory.start(admin, false, Duration.ofSeconds(30));
    people = PersonClients.impersonating(env.server().adminConfig());
    context =
        new GatewayContext(
            config,
            directory,
            admin,
            people,
            new SignedTokens(GATEWAY_KEY, Clock.systemUTC()),
            new GatewayMetrics(registry),
            Clock.systemUTC());
    proxyKey = PersistedKeyPair.loadOrCreate(dir.resolve("proxy-key"));
    gateway =
        SshGateway.start(context, PersistedKeyPair.loadOrCreate(dir.resolve("host-key")), proxyKey);
  }

  int port() {
    return gateway.port();
  }

  OpenSsh.Result ssh(Path key, String... args) throws IOException {
    return OpenSsh.ssh(null, key, port(), prepend("localhost", args));
  }

  OpenSsh.Result sshWithInput(String stdin, Path key, String... args) throws IOException {
    return OpenSsh.ssh(stdin, key, port(), args);
  }

  /** A registered person: a key and a User created through the gateway's register command. */
  Path register(String name, String email) throws Exception {
    Path key = OpenSsh.newKey(dir, name);
    OpenSsh.Result r = ssh(key, "register", email);
    if (r.exit() != 0) {
      throw new IllegalStateException("register failed: " + r);
    }
    // As the operator's Ready condition would: provisioned, and RBAC lets the person in (the
    // tests' emails never collide, so the User is named after the email's local part).
    String user = Names.userNameFor(email, n -> false);
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .until(
            () ->
                people.as(user).resources(VirtualMachine.class).inNamespace("user-" + user).list()
                    != null);
    return key;
  }

  /** The ssh_config snippet from docs/ssh-gateway.md, pointed at this test's gateway. */
  Path jumpConfig(Path key) throws IOException {
    Path config = Files.createTempFile(dir, "ssh_config", "");
    Files.writeString(
        config,
        String.join(
            "\n",
            "Host vmctl-gw",
            "  HostName localhost",
            "  Port " + port(),
            "Host *.vm.example.test",
            "  ProxyJump vmctl-gw",
            "  User root",
            "Host *",
            "  IdentityFile " + key,
            "  IdentitiesOnly yes",
            "  IdentityAgent none",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  GlobalKnownHostsFile /dev/null",
            "  BatchMode yes",
            "  LogLevel INFO",
            ""));
    return config;
  }

  private static String[] prepend(String first, String[] rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  private void applyUserRole() {
    Path role =
        Path.of(System.getProperty("vmctl.repo", ".."))
            .resolve("manifests/operator/021-clusterrole-vmctl-user.yaml");
    KubeEnv.Result r = env.kubectl("apply", "-f", role.toString());
    if (!r.ok()) {
      throw new IllegalStateException(r.stderr());
    }
  }

  @Override
  public void close() throws Exception {
    gateway.close();
    users.close();
    shares.close();
    vms.close();
    people.close();
    directory.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** What the operator does for a new User: its namespace and the RoleBinding to vmctl-user. */
  private record Provisioner(KubernetesClient admin) implements Watcher<User> {
    @Override
    public void eventReceived(Action action, User user) {
      if (action != Action.ADDED) {
        return;
      }
      String name = user.getMetadata().getName();
      String ns = Directory.namespaceOf(user);
      try {
        admin
            .resource(
                new NamespaceBuilder()
                    .withNewMetadata()
                    .withName(ns)
                    .withLabels(java.util.Map.of("vmctl.dev/user", name))
                    .endMetadata()
                    .build())
            .serverSideApply();
        admin
            .resource(
                new RoleBindingBuilder()
                    .withNewMetadata()
                    .withName("vmctl-user")
                    .withNamespace(ns)
                    .endMetadata()
                    .withNewRoleRef()
                    .withApiGroup("rbac.authorization.k8s.io")
                    .withKind("ClusterRole")
                    .withName("vmctl-user")
                    .endRoleRef()
                    .addNewSubject()
                    .withApiGroup("rbac.authorization.k8s.io")
                    .withKind("User")
                    .withName(PersonClients.identity(name))
                    .endSubject()
                    .build())
            .serverSideApply();
        // Ownership reads status.namespace, written once the namespace is provisioned.
        admin
            .resources(User.class)
            .withName(name)
            .editStatus(
                u -> {
                  u.setStatus(new User.Status());
                  u.getStatus().namespace = ns;
                  return u;
                });
      } catch (RuntimeException e) {
        System.err.println("fake provisioner: " + e);
      }
    }

    @Override
    public void onClose(WatcherException cause) {}
  }

  /** What the operator's ShareReconciler does first: bind a Share to its VM's uid. */
  private record ShareBinder(KubernetesClient admin) implements Watcher<Share> {
    @Override
    public void eventReceived(Action action, Share share) {
      if (action == Action.DELETED
          || (share.getStatus() != null && share.getStatus().vmUid != null)) {
        return;
      }
      VirtualMachine vm =
          admin
              .resources(VirtualMachine.class)
              .inNamespace(share.getMetadata().getNamespace())
              .withName(share.getSpec().vm)
              .get();
      if (vm == null) {
        return;
      }
      try {
        admin
            .resources(Share.class)
            .inNamespace(share.getMetadata().getNamespace())
            .withName(share.getMetadata().getName())
            .editStatus(
                s -> {
                  Share.Status status = s.getStatus() == null ? new Share.Status() : s.getStatus();
                  status.vmUid = vm.getMetadata().getUid();
                  s.setStatus(status);
                  return s;
                });
      } catch (RuntimeException e) {
        System.err.println("fake share binder: " + e.getMessage());
      }
    }

    @Override
    public void onClose(WatcherException cause) {}
  }

  /** Reports every VM in the phase {@link #phaseOf} gives, at its address from the map. */
  private final class NodeDaemon implements Watcher<VirtualMachine> {
    private final KubernetesClient admin;

    NodeDaemon(KubernetesClient admin) {
      this.admin = admin;
    }

    @Override
    public void eventReceived(Action action, VirtualMachine vm) {
      if (action == Action.DELETED) {
        return;
      }
      VmPhase phase = phaseOf.apply(vm);
      String ip = addresses.getOrDefault(vm.getMetadata().getName(), "10.255.255.1");
      VirtualMachineStatus status = vm.getStatus();
      List<String> keys = hostKeys.get(vm.getMetadata().getName());
      List<io.fabric8.kubernetes.api.model.Condition> conditions = conditionsOf.apply(vm);
      if (status != null
          && status.phase == phase
          && ip.equals(status.ipAddress)
          && java.util.Objects.equals(keys, status.sshHostKeys)
          && (conditions == null || conditions.size() == status.conditions.size())) {
        return;
      }
      try {
        admin
            .resources(VirtualMachine.class)
            .inNamespace(vm.getMetadata().getNamespace())
            .withName(vm.getMetadata().getName())
            .editStatus(
                v -> {
                  VirtualMachineStatus s =
                      v.getStatus() == null ? new VirtualMachineStatus() : v.getStatus();
                  s.phase = phase;
                  s.ipAddress = ip;
                  s.sshHostKeys = keys;
                  if (conditions != null) {
                    s.conditions = new java.util.ArrayList<>(conditions);
                  }
                  // One host per VM: the tests give many VMs one address (a loopback sshd).
                  s.nodeName =
                      "host-of-" + v.getMetadata().getNamespace() + "-" + v.getMetadata().getName();
                  v.setStatus(s);
                  return v;
                });
      } catch (RuntimeException e) {
        System.err.println("fake node daemon: " + e.getMessage());
      }
    }

    @Override
    public void onClose(WatcherException cause) {}
  }
}
