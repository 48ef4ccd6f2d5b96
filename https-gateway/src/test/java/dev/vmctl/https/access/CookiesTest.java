package dev.vmctl.https.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CookiesTest {
  @Test
  void gatewayCookiesNeverReachBackends() {
    assertThat(Cookies.forBackend(List.of("vmctl_session=abc; app=1", "VMCTL_link=x; b=2")))
        .isEqualTo("app=1; b=2");
    assertThat(Cookies.forBackend(List.of("vmctl_session=abc"))).isNull();
    assertThat(Cookies.forBackend(List.of())).isNull();
  }

  @Test
  void backendsMayNotSetGatewayOrParentDomainCookies() {
    String host = "web.vm.localhost";
    assertThat(Cookies.backendMaySet("app=1; Path=/; HttpOnly", host)).isTrue();
    assertThat(Cookies.backendMaySet("own=1; Domain=web.vm.localhost", host)).isTrue();
    assertThat(Cookies.backendMaySet("own=1; domain=.web.vm.localhost", host)).isTrue();
    assertThat(Cookies.backendMaySet("vmctl_session=x", host)).isFalse();
    assertThat(Cookies.backendMaySet("Vmctl_Link=x; Path=/", host)).isFalse();
    assertThat(Cookies.backendMaySet("toss=1; Domain=vm.localhost", host)).isFalse();
    assertThat(Cookies.backendMaySet("toss=1; Domain=other.vm.localhost", host)).isFalse();
  }

  @Test
  void sessionCookieIsScopedToTheDomainAndHidden() {
    assertThat(Cookies.session("t", "vm.localhost", 604800))
        .isEqualTo(
            "vmctl_session=t; Domain=vm.localhost; Path=/; Max-Age=604800; HttpOnly; Secure;"
                + " SameSite=Lax");
    assertThat(Cookies.link("t")).doesNotContain("Domain").contains("HttpOnly; Secure");
    assertThat(Cookies.parse(List.of("a=1; b=2=3", "a=9")))
        .containsEntry("a", "1")
        .containsEntry("b", "2=3");
  }
}
