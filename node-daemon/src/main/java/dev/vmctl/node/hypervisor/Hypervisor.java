package dev.vmctl.node.hypervisor;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.time.Duration;

/** One hypervisor process per VM, started so that it outlives the node daemon. */
public interface Hypervisor {
  /** cloud-hypervisor or qemu. */
  String kind();

  String version();

  /** Whether hardware virtualisation is used. */
  boolean kvm();

  /** Measures: is this VM's hypervisor process alive (adopting one from a previous daemon)? */
  boolean isRunning(VmPlan plan);

  /** Creates and boots the VM; the root and data volumes and the TAP device exist already. */
  void start(VmPlan plan, String rootVolume, String dataVolume) throws IOException;

  /**
   * Waits up to {@code grace} for the process to end (the guest was asked to power off), then kills
   * it.
   */
  void stop(VmPlan plan, Duration grace) throws IOException;

  void pause(VmPlan plan) throws IOException;

  void resume(VmPlan plan) throws IOException;

  boolean isPaused(VmPlan plan) throws IOException;

  /**
   * Applies the plan's CPUs and memory to the running VM when the hypervisor can hot-plug them;
   * returns false when a restart is needed instead.
   */
  default boolean resize(VmPlan plan) throws IOException {
    return false;
  }
}
