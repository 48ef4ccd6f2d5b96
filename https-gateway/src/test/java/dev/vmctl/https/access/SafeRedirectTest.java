package dev.vmctl.https.access;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.https.Domain;
import org.junit.jupiter.api.Test;

class SafeRedirectTest {
  private final Domain domain = Domain.parse("vm.localhost:8443");

  @Test
  void keepsHttpsUrlsOnTheDomain() {
    assertThat(SafeRedirect.target("https://web.vm.localhost:8443/a?b=c", domain))
        .isEqualTo("https://web.vm.localhost:8443/a?b=c");
    assertThat(SafeRedirect.target("https://vm.localhost/", domain))
        .isEqualTo("https://vm.localhost/");
  }

  @Test
  void everythingElseGoesToTheLandingPage() {
    for (String next :
        new String[] {
          null,
          "",
          "/relative",
          "//evil.example/",
          "http://web.vm.localhost/",
          "https://evil.example/",
          "https://vm.localhost.evil.example/",
          "https://evilvm.localhost/",
          "https://web.vm.localhost@evil.example/",
          "https://user@web.vm.localhost/",
          "javascript:alert(1)",
          "https://[bad"
        }) {
      assertThat(SafeRedirect.target(next, domain))
          .as(next)
          .isEqualTo("https://vm.localhost:8443/");
    }
  }
}
