package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DomainTest {
  private final Domain domain = Domain.parse("VM.localhost:8443");

  @Test
  void splitsHostAndFullValue() {
    assertThat(domain.host()).isEqualTo("vm.localhost");
    assertThat(domain.full()).isEqualTo("vm.localhost:8443");
    assertThat(domain.portSuffix()).isEqualTo(":8443");
    assertThat(domain.vmUrl("web")).isEqualTo("https://web.vm.localhost:8443/");
    assertThat(Domain.parse("vm.example.com").portSuffix()).isEmpty();
    assertThatThrownBy(() -> Domain.parse("bad domain")).hasMessageContaining("VMCTL_DOMAIN");
  }

  @Test
  void normalisesHostHeadersAndRejectsMalformedOnes() {
    assertThat(Domain.hostOf("Web.VM.localhost:8443")).isEqualTo("web.vm.localhost");
    assertThat(Domain.hostOf("web.vm.localhost.")).isEqualTo("web.vm.localhost");
    assertThat(Domain.hostOf("a..b")).isNull();
    assertThat(Domain.hostOf("x/y")).isNull();
    assertThat(Domain.hostOf("web:port")).isNull();
    assertThat(Domain.hostOf("-web.vm.localhost")).isNull();
    assertThat(Domain.hostOf("")).isNull();
    assertThat(Domain.hostOf(null)).isNull();
  }

  @Test
  void oneLabelBelowTheDomainNamesAVm() {
    assertThat(domain.vmName("web.vm.localhost")).contains("web");
    assertThat(domain.vmName("vm.localhost")).isEmpty();
    assertThat(domain.vmName("a.b.vm.localhost")).isEmpty();
    assertThat(domain.vmName("web.othervm.localhost")).isEmpty();
    assertThat(domain.isBare("vm.localhost")).isTrue();
    assertThat(domain.covers("x.vm.localhost")).isTrue();
    assertThat(domain.covers("xvm.localhost")).isFalse();
  }
}
