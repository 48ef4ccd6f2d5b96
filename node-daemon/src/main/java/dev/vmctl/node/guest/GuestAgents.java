package dev.vmctl.node.guest;

import dev.vmctl.node.model.VmPlan;
import java.io.IOException;
import java.time.Duration;

/** Opens a connection to a VM's guest agent, or fails within {@code timeout}. */
@FunctionalInterface
public interface GuestAgents {
  GuestAgent connect(VmPlan plan, Duration timeout) throws IOException;
}
