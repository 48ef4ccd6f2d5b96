package dev.vmctl.api.status;

import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;

/** VM phase changes with their history (status.phaseTransitions, the last 20). */
public final class Phases {
  public static final int MAX_TRANSITIONS = 20;

  private Phases() {}

  /** Sets the phase, recording the transition time when it changes. */
  public static void set(VirtualMachineStatus status, VmPhase phase, Instant now) {
    if (status.phase == phase) {
      return;
    }
    status.phase = phase;
    if (status.phaseTransitions == null) {
      status.phaseTransitions = new ArrayList<>();
    }
    status.phaseTransitions.add(
        new VirtualMachineStatus.PhaseTransition(
            phase, now.truncatedTo(ChronoUnit.SECONDS).toString()));
    while (status.phaseTransitions.size() > MAX_TRANSITIONS) {
      status.phaseTransitions.remove(0);
    }
  }

  /** The most recent phase other than Unknown, to return to when a lost host comes back. */
  public static VmPhase previous(VirtualMachineStatus status, VmPhase fallback) {
    var transitions = status.phaseTransitions;
    for (int i = transitions.size() - 1; i >= 0; i--) {
      VmPhase p = transitions.get(i).phase;
      if (p != VmPhase.Unknown) {
        return p;
      }
    }
    return fallback;
  }
}
