package dev.vmctl.node.steps;

import java.io.IOException;

/** A step that could not be applied or did not verify, with the condition reason to report. */
public final class StepFailed extends IOException {
  private final String reason;

  public StepFailed(String reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public StepFailed(String reason, String message) {
    this(reason, message, null);
  }

  /** A CamelCase condition reason: ImageMissing, ProvisioningFailed, … */
  public String reason() {
    return reason;
  }
}
