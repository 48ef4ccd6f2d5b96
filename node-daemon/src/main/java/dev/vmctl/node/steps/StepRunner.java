package dev.vmctl.node.steps;

import dev.vmctl.api.status.Reasons;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs host steps: measure, act, verify; and removes them in reverse order. */
public final class StepRunner {
  private static final Logger log = LoggerFactory.getLogger(StepRunner.class);

  /** Called after each apply, before its verify: tests make a daemon die at exactly that point. */
  @FunctionalInterface
  public interface AfterApply {
    AfterApply NONE = (step, pass) -> {};

    void applied(String step, VmPass pass);
  }

  private final AfterApply afterApply;

  public StepRunner(AfterApply afterApply) {
    this.afterApply = afterApply;
  }

  /** Applies the step when it is needed and checks the result; true when it acted. */
  public boolean ensure(HostStep step, VmPass pass) throws IOException {
    if (!step.needed(pass)) {
      return false;
    }
    try {
      step.apply(pass);
    } catch (StepFailed e) {
      throw e;
    } catch (IOException e) {
      throw new StepFailed(
          Reasons.PROVISIONING_FAILED, step.name() + " could not be applied: " + e.getMessage(), e);
    }
    afterApply.applied(step.name(), pass);
    if (!step.verify(pass)) {
      throw new StepFailed(
          Reasons.VERIFICATION_FAILED,
          step.name() + " was applied but its result is not on the host");
    }
    log.debug("{}/{}: {} applied", pass.plan().namespace(), pass.plan().name(), step.name());
    return true;
  }

  /** Removes the steps in reverse order; every one is tried, the first failure is rethrown. */
  public void removeAll(List<HostStep> steps, VmPass pass) throws IOException {
    IOException first = null;
    for (int i = steps.size() - 1; i >= 0; i--) {
      try {
        steps.get(i).remove(pass);
      } catch (IOException e) {
        log.warn(
            "{}: removing {} failed: {}", pass.plan().name(), steps.get(i).name(), e.toString());
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
