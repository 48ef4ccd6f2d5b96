package dev.vmctl.node.host.cgroup;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.util.Collection;

/**
 * One VM's cgroup: its hypervisor and helper processes (vhost-device-vsock) run there, outside the
 * node daemon's (a pod's) cgroup, so they neither count against the daemon's memory limit nor die
 * with it. {@link HostCgroups} is the real one; tests without root use a fake.
 */
public interface VmCgroup {

  /** Measures: true when the VM's cgroup is missing or its limits differ from the plan's. */
  boolean needed(VmPlan plan) throws IOException;

  /** Creates the VM's cgroup and writes the plan's limits; idempotent, moves no process. */
  void apply(VmPlan plan) throws IOException;

  /**
   * Shell text to put before {@code exec} in a launch script: moves the shell ({@code $$}) into the
   * VM's cgroup, or exits 1 (after the shell printed why) when that fails, so the hypervisor never
   * runs a moment in the launcher's cgroup. Empty when cgroups are off.
   */
  String joinCommand(VmPlan plan);

  /**
   * Reads back the limits and checks that each pid is in the VM's cgroup; throws naming what
   * differs.
   */
  void verify(VmPlan plan, Collection<Long> pids) throws IOException;

  /**
   * Once the VM's processes have been stopped: waits (bounded) for the cgroup to empty, then
   * removes it. Throws, leaving it, when processes remain.
   */
  void remove(VmPlan plan) throws IOException;

  /** Cgroups off (no writable cgroup root): processes stay in the launcher's cgroup. */
  VmCgroup NONE =
      new VmCgroup() {
        @Override
        public boolean needed(VmPlan plan) {
          return false;
        }

        @Override
        public void apply(VmPlan plan) {}

        @Override
        public String joinCommand(VmPlan plan) {
          return "";
        }

        @Override
        public void verify(VmPlan plan, Collection<Long> pids) {}

        @Override
        public void remove(VmPlan plan) {}

        @Override
        public String toString() {
          return "no VM cgroups";
        }
      };
}
