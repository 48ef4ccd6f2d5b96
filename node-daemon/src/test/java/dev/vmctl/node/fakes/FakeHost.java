package dev.vmctl.node.fakes;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.hypervisor.Hypervisor;
import dev.vmctl.node.model.VmPlan;
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
  public final Set<String> started = ConcurrentHashMap.newKeySet();

  /** Whether started guests answer (a FakeAgent on their vsock socket) or never do. */
  public volatile boolean guestAnswers;

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

  /** How long cloning a root volume takes (a slow pool). */
  public volatile Duration cloneTime = Duration.ZERO;

  public Commands commands() {
    return argv -> {
      if (argv.contains("nft") && argv.contains("list")) {
        return new Commands.Result(0, "table inet vmctl { # no VM-to-host traffic }", "");
      }
      if (argv.contains("sysctl") && argv.contains("-n")) {
        return new Commands.Result(0, "1\n", "");
      }
      return argv.contains("show")
          ? new Commands.Result(1, "", "does not exist")
          : new Commands.Result(0, "", "");
    };
  }

  public Storage storage() {
    return new Storage() {
      @Override
      public String driver() {
        return "fake";
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
        }
        return root.toString();
      }

      @Override
      public String ensureData(VmPlan plan) {
        return plan.dir().resolve("data").toString();
      }

      @Override
      public void remove(VmPlan plan) {}

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
        if (guestAnswers) {
          FakeAgent agent = new FakeAgent(plan.vsockSocket());
          agent.rejectKeys = rejectKeys;
          agents.put(plan.id(), agent);
        }
      }

      @Override
      public void stop(VmPlan plan, Duration grace) throws IOException {
        kill(plan.id());
      }

      @Override
      public void pause(VmPlan plan) {}

      @Override
      public void resume(VmPlan plan) {}

      @Override
      public boolean isPaused(VmPlan plan) {
        return false;
      }
    };
  }
}
