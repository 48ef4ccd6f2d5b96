package dev.vmctl.node.steps;

import java.io.IOException;

/**
 * One piece of host state a VM needs, in Flintlock's planner shape: {@code needed} measures, {@code
 * apply} acts, {@code verify} checks the result (not only that apply returned), {@code remove}
 * undoes it when the VM goes. Each is idempotent, so a daemon killed between any two of them
 * converges on its next pass.
 */
public interface HostStep {
  /** The step's name, in logs, failures and docs/node-daemon.md's step table. */
  String name();

  boolean needed(VmPass pass) throws IOException;

  void apply(VmPass pass) throws IOException;

  boolean verify(VmPass pass) throws IOException;

  /** Undoes the step; absent state is fine. Host-wide state (the bridge) is not removed. */
  default void remove(VmPass pass) throws IOException {}
}
