package dev.vmctl.node.host;

import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.node.NodeConfig;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.model.HostCapacity;
import dev.vmctl.node.storage.Storage;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes this node's Host: created once (spec left to administrators), status on every beat. */
public final class HostPublisher {
  private static final Logger log = LoggerFactory.getLogger(HostPublisher.class);
  public static final String VERSION = "0.1.0";

  private final KubernetesClient client;
  private final NodeConfig config;
  private final Storage storage;
  private final Hypervisor hypervisor;
  private final Supplier<List<VirtualMachine>> myVms;
  private final String hypervisorVersion;
  private volatile String readySince;

  public HostPublisher(
      KubernetesClient client,
      NodeConfig config,
      Storage storage,
      Hypervisor hypervisor,
      Supplier<List<VirtualMachine>> myVms) {
    this.client = client;
    this.config = config;
    this.storage = storage;
    this.hypervisor = hypervisor;
    this.myVms = myVms;
    this.hypervisorVersion = hypervisor.version();
  }

  public void publish() {
    try {
      Host host = client.resources(Host.class).withName(config.hostName()).get();
      if (host == null) {
        host = new Host();
        host.getMetadata().setName(config.hostName());
        host.setSpec(new Host.Spec());
        host = client.resource(host).create();
        log.info("registered Host {}", config.hostName());
      }
      Host.Status status = measure(host.getSpec() == null ? null : host.getSpec().cpuOvercommit);
      client
          .resources(Host.class)
          .withName(config.hostName())
          .editStatus(
              h -> {
                h.setStatus(status);
                return h;
              });
    } catch (RuntimeException | IOException e) {
      log.warn("could not publish Host {}: {}", config.hostName(), e.getMessage());
    }
  }

  /**
   * @param cpuOvercommit the Host's spec.cpuOvercommit (null: the cluster default)
   */
  Host.Status measure(Integer cpuOvercommit) throws IOException {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    int cores = Runtime.getRuntime().availableProcessors();
    long memory = memTotal();
    long[] pool = storage.capacity();
    Host.Status s = new Host.Status();
    s.capacity = new ResourceAmounts(cores, quantity(memory), quantity(pool[0]));
    long reserved = Quantity.getAmountInBytes(new Quantity(config.reservedMemory())).longValue();
    HostCapacity capacity =
        new HostCapacity(
            cores,
            config.reservedCpus(),
            HostCapacity.ratio(cpuOvercommit, config.cpuOvercommit()));
    s.cpuOvercommit = capacity.cpuOvercommit();
    s.allocatable =
        new ResourceAmounts(
            capacity.allocatableVcpus(),
            quantity(HostCapacity.allocatableMemory(memory, reserved)),
            quantity(pool[0]));
    s.vmMemoryOverhead = config.vmMemoryOverhead();
    long aCpus = 0;
    long aMem = 0;
    long aDisk = 0;
    List<VirtualMachine> vms = myVms.get();
    for (VirtualMachine vm : vms) {
      if (vm.getStatus() != null && vm.getStatus().allocated != null) {
        ResourceAmounts a = vm.getStatus().allocated;
        aCpus += a.cpus == null ? 0 : a.cpus;
        aMem +=
            a.memory == null ? 0 : Quantity.getAmountInBytes(new Quantity(a.memory)).longValue();
        aDisk += a.disk == null ? 0 : Quantity.getAmountInBytes(new Quantity(a.disk)).longValue();
        // Root and data volumes share the pool.
        aDisk +=
            a.rootDisk == null
                ? 0
                : Quantity.getAmountInBytes(new Quantity(a.rootDisk)).longValue();
      }
    }
    s.allocated = new ResourceAmounts((int) aCpus, quantity(aMem), quantity(aDisk));
    s.vms = vms.size();
    s.storage = new Host.Storage();
    s.storage.driver = storage.driver();
    s.storage.poolSize = quantity(pool[0]);
    s.storage.poolFree = quantity(pool[1]);
    s.hypervisor = new Host.Hypervisor();
    s.hypervisor.kind = hypervisor.kind();
    s.hypervisor.version = hypervisorVersion;
    s.hypervisor.kvm = hypervisor.kvm();
    s.vmSubnet = config.subnet().cidr();
    s.images = storage.images();
    s.heartbeatTime = now.toString();
    s.daemonVersion = VERSION;
    if (readySince == null) {
      readySince = now.toString();
    }
    Condition ready =
        new ConditionBuilder()
            .withType("Ready")
            .withStatus("True")
            .withReason("DaemonRunning")
            .withMessage("The node daemon is running and measured the host.")
            .withLastTransitionTime(readySince)
            .build();
    s.conditions = List.of(ready);
    return s;
  }

  private static long memTotal() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith("MemTotal:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return 0;
  }

  static String quantity(long bytes) {
    long mi = bytes >> 20;
    return mi % 1024 == 0 ? (mi >> 10) + "Gi" : mi + "Mi";
  }
}
