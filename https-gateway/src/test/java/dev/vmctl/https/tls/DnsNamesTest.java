package dev.vmctl.https.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DnsNamesTest {
  @Test
  void wildcardsCoverExactlyOneLabel() {
    assertThat(DnsNames.matches("*.vm.localhost", "web.vm.localhost")).isTrue();
    assertThat(DnsNames.matches("*.vm.localhost", "a.b.vm.localhost")).isFalse();
    assertThat(DnsNames.matches("*.vm.localhost", "vm.localhost")).isFalse();
    assertThat(DnsNames.matches("*.vm.localhost", "webvm.localhost")).isFalse();
    assertThat(DnsNames.matches("vm.localhost", "vm.localhost")).isTrue();
  }

  @Test
  void exactNamesBeatWildcards() {
    assertThat(DnsNames.score(List.of("*.vm.localhost"), "web.vm.localhost")).isEqualTo(1);
    assertThat(DnsNames.score(List.of("*.vm.localhost", "web.vm.localhost"), "web.vm.localhost"))
        .isEqualTo(2);
    assertThat(DnsNames.score(List.of("*.vm.localhost"), "other.example")).isZero();
  }
}
