package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void userNamesComeFromTheEmailsLocalPartAsADnsLabel() {
    assertThat(Names.userNameFor("Ada.Lovelace+vm@Example.com", n -> false))
        .isEqualTo("ada-lovelace-vm");
    assertThat(Names.userNameFor("__@example.com", n -> false)).isEqualTo("user");
    assertThat(Names.userNameFor("x".repeat(80) + "@example.com", n -> false)).hasSize(50);
  }

  @Test
  void takenUserNamesGetANumberedSuffix() {
    Set<String> taken = Set.of("ada", "ada-2");
    assertThat(Names.userNameFor("ada@example.com", taken::contains)).isEqualTo("ada-3");
  }

  @Test
  void generatedVmNamesAreReadableFreeDnsLabels() {
    String name = Names.vmName(n -> n.startsWith("a"));
    assertThat(name).matches("[a-z]+-[a-z]+-[0-9a-f]{4}").doesNotStartWith("a");
    assertThat(Names.isDnsLabel(name)).isTrue();
    assertThat(Names.isDnsLabel("Web")).isFalse();
    assertThat(Names.isDnsLabel("-web")).isFalse();
    assertThat(Names.isDnsLabel("a".repeat(64))).isFalse();
  }
}
