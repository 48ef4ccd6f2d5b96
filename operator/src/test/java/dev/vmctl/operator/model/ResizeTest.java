package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A resize decision and what it writes into the status. */
class ResizeTest {
  static final long GI = 1L << 30;
  static final Instant NOW = Instant.parse("2026-12-01T19:49:59Z");
  static final Amounts ONE = new Amounts(1, GI, 10 * GI);
  static final Amounts HOST = new Amounts(2, 8 * GI, 100 * GI);

  @Test
  void growthBeyondTheHostIsRefusedOnceAndGrowthWithinItIsGranted() {
    Amounts three = new Amounts(3, GI, 10 * GI);
    Resize.Decision refused =
        Resize.decide(
            ONE, three, List.<Quota>of(), QuotaCheck.Usage.NONE.plus(ONE), "h", HOST, ONE);
    assertThat(refused.granted()).isEqualTo(ONE);
    VirtualMachineStatus status = new VirtualMachineStatus();
    status.allocated = Demand.toResource(ONE);
    assertThat(Resize.applyTo(status, refused, ONE, 2L, NOW)).as("a new refusal").isTrue();
    var c = Conditions.find(status.conditions, ConditionTypes.RESIZED).orElseThrow();
    assertThat(c.getReason()).isEqualTo(Reasons.RESIZE_REFUSED);
    assertThat(c.getMessage())
        .isEqualTo(
            "Host h has room for 2 vCPUs, 8Gi memory and 100Gi disk for this VM; the spec asks for"
                + " 3 vCPUs, 1Gi memory and 10Gi disk. The VM keeps running with 1 vCPU, 1Gi memory"
                + " and 10Gi disk.");
    assertThat(Resize.applyTo(status, refused, ONE, 2L, NOW)).as("the same refusal").isFalse();
    assertThat(status.allocated.cpus).isEqualTo(1);

    Amounts two = new Amounts(2, GI, 10 * GI);
    Resize.Decision granted =
        Resize.decide(ONE, two, List.<Quota>of(), QuotaCheck.Usage.NONE.plus(ONE), "h", HOST, ONE);
    assertThat(granted).isEqualTo(new Resize.Decision(two, Optional.empty()));
    assertThat(Resize.applyTo(status, granted, ONE, 3L, NOW)).isFalse();
    assertThat(status.allocated.cpus).isEqualTo(2);
    assertThat(Conditions.isTrue(status.conditions, ConditionTypes.RESIZED)).isTrue();
  }
}
