package dev.vmctl.operator.bench;

import dev.vmctl.api.v1alpha1.Host;
import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServer;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeBinaries;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Scheduler benchmark (not a test): a real kube-apiserver, 100 simulated hosts, the operator as a
 * separate process. Creates VMs at a steady rate and prints create-to-Scheduled latency, sustained
 * throughput, and the operator's RSS with 10,000 VMs present. Run with hack/bench-scheduler.sh.
 */
public final class SchedulerBench {
  static final int HOSTS = 100;
  static final String NS = "bench";

  public static void main(String[] args) throws Exception {
    int rate = Integer.parseInt(System.getProperty("rate", "100"));
    int timedVms = Integer.parseInt(System.getProperty("timedVms", "2000"));
    int totalVms = Integer.parseInt(System.getProperty("totalVms", "10000"));
    String operatorClasspath = System.getProperty("operatorClasspath");
    Path dir = Files.createTempDirectory("vmctl-bench-");
    try (KubeApiServer server = KubeApiServer.start(KubeBinaries.locate(), dir, 0);
        KubernetesClient client = server.adminClient()) {
      KubeApiServerExtension.installCrds(client, Path.of(System.getProperty("vmctl.crds", "crds")));
      client
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
          .create();
      client
          .namespaces()
          .resource(
              new NamespaceBuilder()
                  .withNewMetadata()
                  .withName("vmctl-system")
                  .endMetadata()
                  .build())
          .create();
      for (int i = 0; i < HOSTS; i++) {
        Host host = new Host();
        host.getMetadata().setName(String.format("host-%03d", i));
        host.setSpec(new Host.Spec());
        client.resource(host).create();
      }
      ExecutorService beats = Executors.newSingleThreadExecutor();
      heartbeat(client);
      ProcessBuilder pb =
          new ProcessBuilder(
                  "java",
                  System.getProperty("operatorHeap", "-Xmx256m"),
                  "-XX:+UseSerialGC",
                  "-cp",
                  operatorClasspath,
                  "dev.vmctl.operator.VmctlOperator")
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("operator.log").toFile());
      pb.environment().put("KUBECONFIG", server.kubeconfig().toString());
      pb.environment().put("VMCTL_HTTP_PORT", "0");
      pb.environment().put("VMCTL_HEARTBEAT_GRACE", "120s");
      Process operator = pb.start();
      ProcessHandle handle = operator.toHandle();

      Map<String, Long> sent = new ConcurrentHashMap<>();
      List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
      Map<String, Long> scheduledAt = new ConcurrentHashMap<>();
      var informer =
          client
              .resources(VirtualMachine.class)
              .inNamespace(NS)
              .inform(
                  new ResourceEventHandler<VirtualMachine>() {
                    @Override
                    public void onAdd(VirtualMachine vm) {
                      seen(vm);
                    }

                    @Override
                    public void onUpdate(VirtualMachine old, VirtualMachine vm) {
                      seen(vm);
                    }

                    @Override
                    public void onDelete(VirtualMachine vm, boolean unknown) {}

                    void seen(VirtualMachine vm) {
                      if (vm.getStatus() != null && vm.getStatus().nodeName != null) {
                        long now = System.nanoTime();
                        if (scheduledAt.putIfAbsent(vm.getMetadata().getName(), now) == null) {
                          Long start = sent.get(vm.getMetadata().getName());
                          if (start != null) {
                            latencies.add(now - start);
                          }
                        }
                      }
                    }
                  });
      Path log = dir.resolve("operator.log");
      waitFor(
          () -> {
            try {
              return Files.readString(log).contains("became leader");
            } catch (java.io.IOException e) {
              return false;
            }
          },
          120);
      Thread.sleep(1000); // controllers start processing right after leadership

      ExecutorService creators = Executors.newFixedThreadPool(16);
      long begin = System.nanoTime();
      long intervalNanos = 1_000_000_000L / rate;
      for (int i = 0; i < timedVms; i++) {
        long due = begin + i * intervalNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        String name = "vm-" + i;
        creators.submit(() -> create(client, name, sent));
      }
      long createdIn = System.nanoTime() - begin;
      waitFor(() -> scheduledAt.size() >= timedVms, 120);
      long scheduledIn = System.nanoTime() - begin;
      List<Long> sorted = new ArrayList<>(latencies);
      Collections.sort(sorted);
      System.out.printf(
          "timed phase: %d VMs offered at %d/s over %.1f s; all scheduled after %.1f s%n",
          timedVms, rate, createdIn / 1e9, scheduledIn / 1e9);
      System.out.printf(
          "create->Scheduled latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          pct(sorted, 50), pct(sorted, 90), pct(sorted, 99), sorted.get(sorted.size() - 1) / 1e6);
      System.out.printf(
          "sustained: %.1f VMs scheduled per second%n", timedVms / (scheduledIn / 1e9));

      // Fill up to totalVms as fast as the clients go, then measure the operator's memory.
      for (int i = timedVms; i < totalVms; i++) {
        String name = "vm-" + i;
        creators.submit(() -> create(client, name, sent));
      }
      creators.shutdown();
      creators.awaitTermination(10, TimeUnit.MINUTES);
      waitFor(() -> scheduledAt.size() >= totalVms, 600);
      long fillEnd = System.nanoTime();
      System.out.printf(
          "fill: %d VMs scheduled in total after %.1f s%n", totalVms, (fillEnd - begin) / 1e9);
      Thread.sleep(5000);
      System.out.printf(
          "operator RSS with %d VMs present: %d MB%n", totalVms, rssKb(handle.pid()) / 1024);
      informer.close();
      beats.shutdownNow();
      operator.destroy();
      operator.waitFor(10, TimeUnit.SECONDS);
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  static void create(KubernetesClient client, String name, Map<String, Long> sent) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace(NS);
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().cpus = 1;
    vm.getSpec().memory = "1Gi";
    vm.getSpec().disk = "10Gi";
    sent.put(name, System.nanoTime());
    client.resource(vm).create();
  }

  static void heartbeat(KubernetesClient client) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    for (int i = 0; i < HOSTS; i++) {
      client
          .resources(Host.class)
          .withName(String.format("host-%03d", i))
          .editStatus(
              h -> {
                Host.Status s = new Host.Status();
                // 32 cores at the default 4 vCPUs per core, with QEMU's per-VM overhead: 100 VMs
                // of 1 vCPU, 1Gi (+512Mi) and 20Gi (root + data) per host still fit.
                s.capacity = new ResourceAmounts(32, "512Gi", "20Ti");
                s.cpuOvercommit = 4;
                s.allocatable = new ResourceAmounts(128, "512Gi", "20Ti");
                s.vmMemoryOverhead = "512Mi";
                s.heartbeatTime = now;
                s.images = List.of("debian-12");
                s.conditions =
                    List.of(
                        new ConditionBuilder()
                            .withType("Ready")
                            .withStatus("True")
                            .withReason("Bench")
                            .withMessage("simulated")
                            .withLastTransitionTime(now)
                            .build());
                h.setStatus(s);
                return h;
              });
    }
  }

  static double pct(List<Long> sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, index)) / 1e6;
  }

  static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  static void waitFor(java.util.function.BooleanSupplier condition, int seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out");
      }
      Thread.sleep(50);
    }
  }
}
