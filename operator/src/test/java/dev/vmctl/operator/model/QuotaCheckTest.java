package dev.vmctl.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.operator.model.QuotaCheck.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

class QuotaCheckTest {
  static final long GI = 1L << 30;

  static Quota quota(Integer vms, Integer cpus, String memory) {
    Quota q = new Quota();
    q.getMetadata().setName("default");
    q.setSpec(new Quota.Spec());
    q.getSpec().hard = new Quota.Amounts(vms, cpus, memory, null);
    return q;
  }

  @Test
  void fitsUntilAnyLimitIsReached() {
    Usage used = new Usage(1, new Amounts(2, 2 * GI, 10 * GI));
    assertThat(QuotaCheck.exceeded(List.of(quota(2, 4, "4Gi")), used, new Amounts(2, 2 * GI, GI)))
        .isEmpty();
    assertThat(QuotaCheck.exceeded(List.of(quota(1, 4, "4Gi")), used, new Amounts(1, GI, GI)))
        .contains("quota exceeded: default: VMs 1 of 1 used");
    assertThat(QuotaCheck.exceeded(List.of(quota(5, 3, "3Gi")), used, new Amounts(2, 2 * GI, GI)))
        .contains(
            "quota exceeded: default: vCPUs need 2, 1 of 3 left; default: memory need 2Gi, 1Gi of 3Gi left");
  }

  @Test
  void missingLimitsAreUnlimited() {
    assertThat(
            QuotaCheck.exceeded(
                List.of(quota(null, null, null)),
                new Usage(100, new Amounts(500, 900 * GI, 0)),
                new Amounts(64, GI, GI)))
        .isEmpty();
  }

  @Test
  void amountsRoundTripAsQuantities() {
    assertThat(Amounts.bytes("1536Mi")).isEqualTo(1536L << 20);
    assertThat(Amounts.quantity(1536L << 20)).isEqualTo("1536Mi");
    assertThat(Amounts.quantity(8 * GI)).isEqualTo("8Gi");
    assertThat(Amounts.human(1536L << 20)).isEqualTo("1.5Gi");
    assertThat(Amounts.bytes("2G")).isEqualTo(2_000_000_000L);
  }
}
