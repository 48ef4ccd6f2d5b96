package dev.vmctl.node;

import com.sun.net.httpserver.HttpServer;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.HostPublisher;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.host.cgroup.HostCgroups;
import dev.vmctl.node.host.cgroup.VmCgroup;
import dev.vmctl.node.hypervisor.CloudHypervisor;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.hypervisor.QemuHypervisor;
import dev.vmctl.node.identity.Identities;
import dev.vmctl.node.net.Network;
import dev.vmctl.node.storage.LvmThinStorage;
import dev.vmctl.node.storage.ReflinkStorage;
import dev.vmctl.node.storage.Storage;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.config.ResolvedControllerConfiguration;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node daemon: publishes this host's Host and reconciles the VMs scheduled to it, {@code
 * status.nodeName=<host>} (and only those: the watch is filtered server-side on the CRD's
 * selectable field).
 */
public final class NodeDaemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeDaemon.class);

  private final Operator operator;
  private final ScheduledExecutorService heartbeat;
  private final HttpServer http;
  private final NodeVmReconciler reconciler;

  private NodeDaemon(KubernetesClient client, NodeConfig config, Commands commands)
      throws IOException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Storage storage = storage(config, commands);
    Network network = new Network(commands, config.netns(), config.bridge(), config.subnet());
    Hypervisor hypervisor = hypervisor(config, commands);
    this.reconciler =
        new NodeVmReconciler(
            client,
            config,
            storage,
            network,
            hypervisor,
            new Identities(config.stateDir().resolve("identities"), config.subnet()),
            registry);
    this.operator =
        new Operator(
            o ->
                o.withKubernetesClient(client)
                    .withConcurrentReconciliationThreads(8)
                    .withCloseClientOnStop(false)
                    .withUseSSAToPatchPrimaryResource(false));
    operator.register(
        reconciler,
        ownVmsOnly(
            operator.getConfigurationService().getConfigurationFor(reconciler), config.hostName()));
    HostPublisher publisher =
        new HostPublisher(client, config, storage, hypervisor, reconciler::cachedVms);
    network.ensureBridge();
    publisher.publish();
    this.heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "host-heartbeat");
              t.setDaemon(true);
              return t;
            });
    long period = config.heartbeat().toMillis();
    heartbeat.scheduleWithFixedDelay(publisher::publish, period, period, TimeUnit.MILLISECONDS);
    this.http =
        HttpServer.create(
            config.httpBindAddress() == null || config.httpBindAddress().isBlank()
                ? new InetSocketAddress(config.httpPort())
                : new InetSocketAddress(config.httpBindAddress(), config.httpPort()),
            0);
    http.createContext("/metrics", ex -> respond(ex, registry.scrape()));
    http.createContext("/healthz", ex -> respond(ex, "ok\n"));
    http.start();
    operator.start();
    log.info("node daemon for host {} started", config.hostName());
  }

  static Storage storage(NodeConfig config, Commands commands) {
    return switch (config.storageDriver()) {
      case "btrfs", "reflink", "xfs" ->
          new ReflinkStorage(config.pool(), commands, config.storageDriver());
      case "lvm-thin" ->
          new LvmThinStorage(commands, config.lvmVolumeGroup(), config.lvmThinPool());
      default ->
          throw new IllegalArgumentException(
              "storage driver "
                  + config.storageDriver()
                  + " is not available in this build (btrfs, reflink)");
    };
  }

  /** The VM cgroups under the configured root, or none (logged once) when it cannot be used. */
  static VmCgroup cgroups(NodeConfig config) {
    long overhead =
        Quantity.getAmountInBytes(new Quantity(config.vmMemoryOverhead())).longValueExact();
    return HostCgroups.detect(config.cgroupRoot(), config.cgroupParent(), overhead);
  }

  static Hypervisor hypervisor(NodeConfig config, Commands commands) {
    return hypervisor(config, commands, cgroups(config));
  }

  static Hypervisor hypervisor(NodeConfig config, Commands commands, VmCgroup cgroups) {
    return switch (config.hypervisor()) {
      case "qemu" ->
          new QemuHypervisor(
              commands,
              config.qemu(),
              config.vhostVsock(),
              config.kernelDir(),
              config.netns(),
              config.kvm(),
              config.hypervisorApiTimeout(),
              cgroups);
      case "cloud-hypervisor" ->
          new CloudHypervisor(
              commands,
              config.cloudHypervisor(),
              config.kernelDir(),
              config.netns(),
              config.hypervisorApiTimeout(),
              cgroups);
      default ->
          throw new IllegalArgumentException(
              "unknown hypervisor " + config.hypervisor() + " (cloud-hypervisor, qemu)");
    };
  }

  public static NodeDaemon start(KubernetesClient client, NodeConfig config) throws IOException {
    return new NodeDaemon(client, config, new ProcessCommands());
  }

  /** With another host-command runner (benchmarks put an emulated hypervisor behind it). */
  public static NodeDaemon start(KubernetesClient client, NodeConfig config, Commands commands)
      throws IOException {
    return new NodeDaemon(client, config, commands);
  }

  @Override
  public void close() {
    heartbeat.shutdownNow();
    reconciler.close();
    operator.stop();
    http.stop(0);
  }

  private static void respond(com.sun.net.httpserver.HttpExchange ex, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** The field every node daemon selects its VMs on (a CRD selectable field). */
  public static final String NODE_NAME_FIELD = "status.nodeName";

  /**
   * {@code base} with a server-side field selector {@code status.nodeName=<host>}: the informer
   * lists and watches only this host's VMs, the way kubelet selects pods on {@code spec.nodeName}.
   * JOSDK 5.2's configuration overrider has no field selector, so the informer configuration is
   * rebuilt with one; everything else is kept.
   */
  static <P extends HasMetadata> ControllerConfiguration<P> ownVmsOnly(
      ControllerConfiguration<P> base, String host) {
    InformerConfiguration<P> informer =
        InformerConfiguration.builder(base.getInformerConfig())
            .withFieldSelector(new FieldSelector(new FieldSelector.Field(NODE_NAME_FIELD, host)))
            .buildForController();
    return new ResolvedControllerConfiguration<>(
        base.getName(),
        base.isGenerationAware(),
        base.getAssociatedReconcilerClassName(),
        base.getRetry(),
        base.getRateLimiter(),
        base.maxReconciliationInterval().orElse(null),
        base.getFinalizerName(),
        Map.of(), // no dependent resources
        base.fieldManager(),
        base.getConfigurationService(),
        informer,
        base.triggerReconcilerOnAllEvents(),
        base.getWorkflowSpec().orElse(null));
  }

  public static void main(String[] args) throws Exception {
    NodeConfig config = NodeConfig.fromEnvironment(System.getenv());
    KubernetesClient client = new KubernetesClientBuilder().build();
    NodeDaemon daemon = start(client, config);
    Runtime.getRuntime().addShutdownHook(new Thread(daemon::close));
    Thread.currentThread().join();
  }
}
