package dev.vmctl.node.fakes;

import dev.vmctl.node.host.cgroup.VmCgroup;
import dev.vmctl.node.model.VmPlan;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * VM cgroups without a cgroup filesystem: records each call ("apply 2 cpus", "verify [pids]",
 * "remove") and hands out a join command that only echoes a marker, for tests of where the
 * hypervisor drivers call the step.
 */
public final class RecordingVmCgroup implements VmCgroup {
  public static final String JOIN = "echo joined-vm-cgroup; ";
  public final List<String> calls = new CopyOnWriteArrayList<>();

  @Override
  public boolean needed(VmPlan plan) {
    return true;
  }

  @Override
  public void apply(VmPlan plan) {
    calls.add("apply " + plan.cpus() + " cpus");
  }

  @Override
  public String joinCommand(VmPlan plan) {
    return JOIN;
  }

  @Override
  public void verify(VmPlan plan, Collection<Long> pids) {
    calls.add("verify " + pids);
  }

  @Override
  public void remove(VmPlan plan) {
    calls.add("remove");
  }
}
