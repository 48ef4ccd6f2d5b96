package dev.vmctl.node.steps;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.node.guest.GuestAgent;
import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * One reconcile pass over one VM: the VM as read, its plan, the status being built (written once at
 * the end of the pass) and the guest agent connection, opened at most once per pass.
 */
public final class VmPass implements AutoCloseable {
  private final VirtualMachine vm;
  private VmPlan plan;
  private final VirtualMachineStatus status;
  private final Instant now;
  private final List<String> keys;
  private GuestAgent agent;
  private GuestAgent.Hello hello;

  public VmPass(
      VirtualMachine vm, VmPlan plan, VirtualMachineStatus status, Instant now, List<String> keys) {
    this.vm = vm;
    this.plan = plan;
    this.status = status;
    this.now = now;
    this.keys = keys;
  }

  public VirtualMachine vm() {
    return vm;
  }

  public VmPlan plan() {
    return plan;
  }

  /** The plan once the identity is known (the identity step records it in status first). */
  public void replan(VmPlan plan) {
    this.plan = plan;
  }

  public VirtualMachineStatus status() {
    return status;
  }

  public Instant now() {
    return now;
  }

  public String uid() {
    return vm.getMetadata().getUid();
  }

  /** The SSH keys the guest should hold now (owner, shares, gateways). */
  public List<String> keys() {
    return keys;
  }

  /** The agent of the running guest, connected for this pass; null when not connected. */
  public GuestAgent agent() {
    return agent;
  }

  public GuestAgent.Hello hello() {
    return hello;
  }

  /** The agent connection, closed with the pass (also when its hello fails). */
  public void connected(GuestAgent agent) {
    this.agent = agent;
  }

  /** The agent's answer to hello in this pass. */
  public void greeted(GuestAgent.Hello hello) {
    this.hello = hello;
  }

  @Override
  public void close() throws IOException {
    if (agent != null) {
      agent.close();
    }
  }
}
