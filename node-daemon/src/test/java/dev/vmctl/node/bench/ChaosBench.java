package dev.vmctl.node.bench;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.testkit.KubeApiServer;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeBinaries;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A chaos run (not a test; hack/bench-chaos.sh, as root): a real kube-apiserver, the operator and
 * the node daemon each as its own JVM process, VMMs as processes of their own (the cloud-hypervisor
 * emulator, hack/bench-chaos.sh explains why), real btrfs volumes, TAPs in a network namespace. VMs
 * are created in pairs at the same instant and deleted while they boot; the daemon and the operator
 * are killed with SIGKILL at random and restarted. Throughout, every VM's IP, MAC and vsock CID is
 * sampled for duplicates; at the end everything is deleted and the host is searched for orphans.
 * Prints the figures.
 */
public final class ChaosBench {
  static final SecureRandom RANDOM = new SecureRandom();
  final Path dir;
  final Path pool;
  final String netns;
  final String cp = System.getProperty("java.class.path");
  final KubeApiServer server;
  final KubernetesClient client;
  Process operator;
  Process daemon;
  final AtomicInteger operatorKills = new AtomicInteger();
  final AtomicInteger daemonKills = new AtomicInteger();
  final AtomicInteger created = new AtomicInteger();
  final AtomicInteger deleted = new AtomicInteger();
  final Set<String> duplicates = ConcurrentHashMap.newKeySet();
  int generation;

  ChaosBench(Path dir, String netns, KubeApiServer server) {
    this.dir = dir;
    this.pool = dir.resolve("btrfs");
    this.netns = netns;
    this.server = server;
    this.client = server.adminClient();
  }

  public static void main(String[] args) throws Exception {
    Duration length = Duration.ofSeconds(Long.getLong("seconds", 300));
    Path dir = Path.of(System.getProperty("benchDir"));
    Path kube = Files.createTempDirectory("vmctl-chaos-kube-");
    try (KubeApiServer server = KubeApiServer.start(KubeBinaries.locate(), kube, 0)) {
      new ChaosBench(dir, System.getProperty("netns"), server).run(length);
    }
    System.exit(0);
  }

  void run(Duration length) throws Exception {
    KubeApiServerExtension.installCrds(client, Path.of(System.getProperty("vmctl.crds", "crds")));
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName("chaos").endMetadata().build())
        .create();
    Files.createDirectories(pool.resolve("images"));
    Files.move(pool.resolve("base.raw"), pool.resolve("images/debian-12.raw"));
    Files.createDirectories(dir.resolve("kernel"));
    Files.writeString(dir.resolve("kernel/vmlinux"), "");
    Path vmm = dir.resolve("cloud-hypervisor");
    Files.writeString(
        vmm,
        "#!/bin/sh\nexec java -Xmx48m -XX:TieredStopAtLevel=1 -cp '"
            + cp
            + "' dev.vmctl.node.hypervisor.CloudHypervisorEmulatorMain \"$@\"\n");
    vmm.toFile().setExecutable(true);
    operator = startOperator();
    daemon = startDaemon(vmm);

    Instant end = Instant.now().plus(length);
    Thread sampler = new Thread(this::sample, "sampler");
    sampler.setDaemon(true);
    sampler.start();
    List<String> alive = new ArrayList<>();
    Instant nextKill = Instant.now().plusSeconds(10 + RANDOM.nextInt(15));
    int pair = 0;
    while (Instant.now().isBefore(end)) {
      // Two VMs at the same instant: the race of issue 22.
      String a = "c" + pair + "-a";
      String b = "c" + pair + "-b";
      pair++;
      CompletableFuture.allOf(
              CompletableFuture.runAsync(() -> create(a)),
              CompletableFuture.runAsync(() -> create(b)))
          .join();
      alive.add(a);
      alive.add(b);
      while (alive.size() > 12) {
        delete(alive.remove(RANDOM.nextInt(alive.size())));
      }
      if (Instant.now().isAfter(nextKill)) {
        kill(RANDOM.nextBoolean(), vmm);
        nextKill = Instant.now().plusSeconds(10 + RANDOM.nextInt(20));
      }
      Thread.sleep(1000 + RANDOM.nextInt(1500));
    }
    for (String name : alive) {
      delete(name);
    }
    Instant gone = Instant.now().plusSeconds(180);
    while (!vms().isEmpty() && Instant.now().isBefore(gone)) {
      Thread.sleep(500);
    }
    int left = vms().size();
    Thread.sleep(2000);
    Map<String, Integer> orphans = orphans();
    System.out.printf(
        "chaos run: %d s, %d VMs created in simultaneous pairs, %d deleted (many while booting),"
            + " %d kill -9 of the node daemon, %d of the operator%n",
        length.toSeconds(), created.get(), deleted.get(), daemonKills.get(), operatorKills.get());
    System.out.printf(
        "duplicate identities seen (IP per host, MAC, vsock CID; sampled every 250 ms): %d%s%n",
        duplicates.size(), duplicates.isEmpty() ? "" : " " + duplicates);
    System.out.printf("VMs not gone 180 s after their delete: %d%n", left);
    System.out.printf("orphans after the run: %s%n", orphans);
    daemon.destroyForcibly().waitFor();
    operator.destroyForcibly().waitFor();
  }

  void create(String name) {
    VirtualMachine vm = new VirtualMachine();
    vm.getMetadata().setName(name);
    vm.getMetadata().setNamespace("chaos");
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().memory = "256Mi";
    vm.getSpec().disk = "1Gi";
    vm.getSpec().rootDisk = "2Gi"; // the smallest: the pool reserves root + data per VM
    try {
      client.resource(vm).create();
      created.incrementAndGet();
    } catch (RuntimeException e) {
      System.err.println("create " + name + ": " + e.getMessage());
    }
  }

  void delete(String name) {
    client.resources(VirtualMachine.class).inNamespace("chaos").withName(name).delete();
    deleted.incrementAndGet();
  }

  List<VirtualMachine> vms() {
    return client.resources(VirtualMachine.class).inNamespace("chaos").list().getItems();
  }

  void sample() {
    while (true) {
      try {
        List<VirtualMachine> vms = vms();
        check(vms, v -> v.getStatus().nodeName + "/" + v.getStatus().ipAddress, "ip");
        check(vms, v -> v.getStatus().macAddress, "mac");
        check(vms, v -> String.valueOf(v.getStatus().vsockCid), "cid");
        Thread.sleep(250);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // the API server is busy; sample again
      }
    }
  }

  void check(List<VirtualMachine> vms, Function<VirtualMachine, String> key, String what) {
    Map<String, String> holder = new HashMap<>();
    for (VirtualMachine vm : vms) {
      if (vm.getStatus() == null || vm.getStatus().ipAddress == null) {
        continue;
      }
      String k = key.apply(vm);
      String other = holder.putIfAbsent(k, vm.getMetadata().getName());
      if (other != null) {
        duplicates.add(what + " " + k + ": " + other + " and " + vm.getMetadata().getName());
      }
    }
  }

  void kill(boolean theDaemon, Path vmm) throws Exception {
    Process victim = theDaemon ? daemon : operator;
    victim.destroyForcibly().waitFor(); // SIGKILL
    (theDaemon ? daemonKills : operatorKills).incrementAndGet();
    Thread.sleep(1000 + RANDOM.nextInt(3000));
    if (theDaemon) {
      daemon = startDaemon(vmm);
    } else {
      operator = startOperator();
    }
  }

  Process startOperator() throws IOException {
    Map<String, String> env = new HashMap<>();
    env.put("VMCTL_LEASE_NAMESPACE", "chaos");
    env.put("VMCTL_LEASE_DURATION", "6s");
    env.put("VMCTL_HTTP_PORT", "0");
    env.put("VMCTL_HEARTBEAT_GRACE", "60s");
    env.put("POD_NAME", "chaos-op-" + (++generation));
    return java("dev.vmctl.operator.VmctlOperator", env, List.of(), "operator");
  }

  Process startDaemon(Path vmm) throws IOException {
    Map<String, String> env = new HashMap<>();
    env.put("VMCTL_NODE_NAME", "chaos-node");
    env.put("VMCTL_STATE_DIR", pool.toString());
    env.put("VMCTL_STORAGE_POOL", pool.toString());
    env.put("VMCTL_STORAGE_DRIVER", "btrfs");
    env.put("VMCTL_HYPERVISOR", "cloud-hypervisor");
    env.put("VMCTL_CLOUD_HYPERVISOR", vmm.toString());
    env.put("VMCTL_NETNS", netns);
    env.put("VMCTL_VM_SUBNET", "10.128.0.0/24");
    env.put("VMCTL_BRIDGE", "vmbr0");
    env.put("VMCTL_KERNEL_DIR", dir.resolve("kernel").toString());
    env.put("VMCTL_HTTP_PORT", "0");
    env.put("VMCTL_HEARTBEAT_SECONDS", "2");
    env.put("VMCTL_RESERVED_MEMORY", "0");
    env.put("VMCTL_GATEWAY_NAMESPACE", "chaos");
    // A 2-core machine would fit two 1-CPU VMs (no overcommit yet): present it as 32 cores.
    return java("dev.vmctl.node.NodeDaemon", env, List.of("-XX:ActiveProcessorCount=32"), "daemon");
  }

  Process java(String main, Map<String, String> env, List<String> jvm, String log)
      throws IOException {
    List<String> argv = new ArrayList<>(List.of("java", "-Xmx256m"));
    argv.addAll(jvm);
    argv.addAll(List.of("-cp", cp, main));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(env);
    pb.environment().put("KUBECONFIG", server.kubeconfig().toString());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log + ".log").toFile()));
    return pb.start();
  }

  Map<String, Integer> orphans() throws Exception {
    Map<String, Integer> found = new HashMap<>();
    String links = run("ip", "-n", netns, "-o", "link", "show");
    found.put("TAPs", (int) links.lines().filter(l -> l.contains(": vt")).count());
    // Not pgrep in a shell: the shell's own command line would match the pattern.
    String marker = "CloudHypervisorEmulatorMain --api-socket path=" + pool;
    found.put(
        "VMM processes",
        (int)
            ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(marker)).orElse(false))
                .count());
    Path vms = pool.resolve("vms");
    found.put("VM directories", Files.exists(vms) ? (int) Files.list(vms).count() : 0);
    int claims = 0;
    for (String kind : List.of("ip", "cid")) {
      Path d = pool.resolve("identities").resolve(kind);
      claims += Files.exists(d) ? (int) Files.list(d).count() : 0;
    }
    found.put("identity claims", claims);
    return found;
  }

  static String run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }
}
