package dev.vmctl.node.fakes;

import dev.vmctl.node.hostkeys.RootFiles;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.model.VmPlan;
import dev.vmctl.node.net.HostNetwork;
import dev.vmctl.node.storage.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A host with no side effects, for tests of the node daemon's decisions against a real API server:
 * host commands succeed (links "do not exist yet", so every ensure creates), volumes are empty
 * files, and the hypervisor records which VMs run. The guest never answers (no agent socket), so
 * VMs stay in Starting: what these tests look at happens before the guest.
 */
public final class FakeHost {
  public final Set<String> running = ConcurrentHashMap.newKeySet();

  /** Every host change, in order ("create TAP vt…", "remove data volume …"): cleanup order. */
  public final List<String> changes = new java.util.concurrent.CopyOnWriteArrayList<>();

  public final Set<String> taps = ConcurrentHashMap.newKeySet();
  public volatile boolean bridgeUp;
  public volatile boolean rulesLoaded;
  public final Set<String> paused = ConcurrentHashMap.newKeySet();

  /** How many times each VM's hypervisor was started. */
  public final java.util.Map<String, Integer> starts = new ConcurrentHashMap<>();

  public final Set<String> started = ConcurrentHashMap.newKeySet();

  /** Whether started guests answer (a FakeAgent on their vsock socket) or never do. */
  public volatile boolean guestAnswers;

  /** Whether started guests ignore the request to power off. */
  public volatile boolean hungGuests;

  /** Whether the guests' agents refuse authorized keys. */
  public volatile boolean rejectKeys;

  public final java.util.Map<String, FakeAgent> agents = new ConcurrentHashMap<>();

  /** The hypervisor of VM {@code planId} dies (kill -9): no process, no agent. */
  public void kill(String planId) throws IOException {
    running.remove(planId);
    FakeAgent agent = agents.remove(planId);
    if (agent != null) {
      agent.close();
    }
  }

  /** Whether the hypervisor applies a new size live (cloud-hypervisor) or needs a restart. */
  public volatile boolean liveResize;

  /** The host's network in memory: bridge, rules and TAP devices, each change recorded. */
  public HostNetwork network() {
    return new HostNetwork() {
      @Override
      public boolean bridgeReady() {
        return bridgeUp;
      }

      @Override
      public void createBridge() {
        bridgeUp = true;
        changes.add("create bridge");
      }

      @Override
      public boolean rulesLoaded() {
        return rulesLoaded;
      }

      @Override
      public void loadRules() {
        rulesLoaded = true;
        changes.add("load nftables");
      }

      @Override
      public boolean tapReady(String tap) {
        return taps.contains(tap);
      }

      @Override
      public void createTap(String tap) {
        taps.add(tap);
        changes.add("create TAP " + tap);
      }

      @Override
      public void removeTap(String tap) {
        if (taps.remove(tap)) {
          changes.add("remove TAP " + tap);
        }
      }
    };
  }

  /** How long cloning a root volume takes (a slow pool). */
  public volatile Duration cloneTime = Duration.ZERO;

  public Storage storage() {
    return new Storage() {
      @Override
      public String driver() {
        return "fake";
      }

      @Override
      public boolean rootReady(VmPlan plan) {
        return Files.exists(plan.dir().resolve("root"));
      }

      @Override
      public boolean dataReady(VmPlan plan) {
        return Files.exists(plan.dir().resolve("data"));
      }

      @Override
      public String ensureRoot(VmPlan plan) throws IOException {
        if (!images().contains(plan.image())) {
          throw new IOException("image " + plan.image() + " is not on this host");
        }
        Files.createDirectories(plan.dir());
        java.nio.file.Path root = plan.dir().resolve("root");
        if (!Files.exists(root)) {
          try {
            Thread.sleep(cloneTime.toMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          Files.createFile(root);
          changes.add("create root volume " + plan.id());
        }
        return root.toString();
      }

      @Override
      public String ensureData(VmPlan plan) throws IOException {
        java.nio.file.Path data = plan.dir().resolve("data");
        if (!Files.exists(data)) {
          Files.createDirectories(plan.dir());
          Files.createFile(data);
          changes.add("create data volume " + plan.id());
        }
        return data.toString();
      }

      @Override
      public String rootDevice(VmPlan plan) {
        return plan.dir().resolve("root").toString();
      }

      @Override
      public String dataDevice(VmPlan plan) {
        return plan.dir().resolve("data").toString();
      }

      @Override
      public void removeRoot(VmPlan plan) throws IOException {
        if (Files.deleteIfExists(plan.dir().resolve("root"))) {
          changes.add("remove root volume " + plan.id());
        }
      }

      @Override
      public void removeData(VmPlan plan) throws IOException {
        if (Files.deleteIfExists(plan.dir().resolve("data"))) {
          changes.add("remove data volume " + plan.id());
        }
      }

      @Override
      public List<String> images() {
        return List.of("debian-12");
      }

      @Override
      public long[] capacity() {
        return new long[] {100L << 30, 100L << 30};
      }
    };
  }

  /** Files written into root volumes, by volume and guest path (what debugfs would write). */
  public final java.util.Map<String, byte[]> rootFiles = new ConcurrentHashMap<>();

  /** Root-volume files in memory; a volume that does not exist cannot be written. */
  public RootFiles rootFiles() {
    return new RootFiles() {
      @Override
      public byte[] read(String volume, String guestPath) {
        return rootFiles.getOrDefault(volume + ":" + guestPath, new byte[0]);
      }

      @Override
      public java.util.Optional<Owner> directoryOwner(String volume, String guestPath) {
        // The base image's layout: the guest user's home is theirs, the rest root's.
        return java.util.Optional.of(
            guestPath.startsWith("/home/") ? new Owner(1000, 1000) : Owner.ROOT);
      }

      @Override
      public void write(String volume, List<GuestFile> files) throws IOException {
        if (!Files.exists(java.nio.file.Path.of(volume))) {
          throw new IOException("no volume " + volume);
        }
        for (GuestFile f : files) {
          rootFiles.put(volume + ":" + f.guestPath(), Files.readAllBytes(f.source()));
        }
      }
    };
  }

  public Hypervisor hypervisor() {
    return new Hypervisor() {
      @Override
      public String kind() {
        return "fake";
      }

      @Override
      public String version() {
        return "0";
      }

      @Override
      public boolean kvm() {
        return false;
      }

      @Override
      public boolean isRunning(VmPlan plan) {
        return running.contains(plan.id());
      }

      @Override
      public void start(VmPlan plan, String rootVolume, String dataVolume) throws IOException {
        Files.createDirectories(plan.dir());
        running.add(plan.id());
        started.add(plan.id());
        starts.merge(plan.id(), 1, Integer::sum);
        changes.add("start hypervisor " + plan.id());
        if (guestAnswers) {
          // As the real image does once sshd listens (vmctl-ready.service; decision 29).
          java.util.Optional<String> token = dev.vmctl.node.steps.GuestSeedStep.token(plan.dir());
          if (token.isPresent()) {
            Files.writeString(
                plan.consoleLog(),
                "\n" + dev.vmctl.node.model.GuestSeed.readyLine(token.get()) + "\n");
          }
          FakeAgent agent = new FakeAgent(plan.vsockSocket());
          agent.rejectKeys = rejectKeys;
          agent.ignoreShutdown = hungGuests;
          agent.onShutdown =
              () -> {
                try {
                  changes.add("guest powered off " + plan.id());
                  kill(plan.id());
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              };
          agents.put(plan.id(), agent);
        }
      }

      @Override
      public void stop(VmPlan plan, Duration grace) throws IOException {
        if (running.contains(plan.id())) {
          changes.add("stop hypervisor " + plan.id());
        }
        kill(plan.id());
        paused.remove(plan.id());
      }

      @Override
      public void pause(VmPlan plan) {
        paused.add(plan.id());
      }

      @Override
      public void resume(VmPlan plan) {
        paused.remove(plan.id());
      }

      @Override
      public boolean isPaused(VmPlan plan) {
        return paused.contains(plan.id());
      }

      @Override
      public boolean resize(VmPlan plan) {
        return liveResize;
      }
    };
  }
}
