package dev.vmctl.https.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestTargetTest {
  private static final String HOST = "box.vm.localhost";

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = ' ',
      value = {
        "/ /",
        "/a/b?c=d /a/b?c=d",
        "/x/../__vmctl/logout /__vmctl/logout",
        "//__vmctl/logout /__vmctl/logout",
        "/%2e%2e/__vmctl/logout /__vmctl/logout",
        "/x/%2E%2E/__vmctl/share/t /__vmctl/share/t",
        "/x/.%2e/y /y",
        "/a//b///c /a/b/c",
        "/a/./b/. /a/b/",
        "/a/b/.. /a/",
        "/../../etc/passwd /etc/passwd",
        "/a/ /a/",
        "/a/..b/c. /a/..b/c.",
        "/.well-known/acme /.well-known/acme",
        "/%7euser/%41 /~user/A",
        "/a%2fb /a%2Fb",
        "/a%2F..%2Fb /a%2F..%2Fb",
        "/%252e%252e/x /%252e%252e/x",
        "/%00 /%00",
        "/a?x=/../y&z=%2e /a?x=/../y&z=%2e",
        "/a/../b?q=1 /b?q=1",
        "https://box.vm.localhost/x/../y?z /y?z",
        "HTTPS://BOX.vm.localhost:8443 /",
        "http://box.vm.localhost?q=1 /?q=1",
      })
  void normalisesOnce(String target, String expected) {
    assertThat(RequestTarget.normalise(target, "GET", HOST)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "x",
        "http://evil.example/",
        "https://evil.example/__vmctl/logout",
        "https://box.vm.localhost.evil.example/",
        "https://user@box.vm.localhost/",
        "https://box.vm.localhost:x/",
        "https://box.vm.localhost#f",
        "ftp://box.vm.localhost/",
        "box.vm.localhost:443",
        "*",
        "/a#frag",
        "/a?b#frag",
        "/a\\..\\__vmctl/logout",
        "/%zz",
        "/%2",
        "/%",
        "/a b",
        "/\u00ff",
        "/a?\u0001",
      })
  void refuses(String target) {
    assertThat(RequestTarget.normalise(target, "GET", HOST)).isNull();
  }

  @Test
  void asteriskOnlyForOptions() {
    assertThat(RequestTarget.normalise("*", "OPTIONS", HOST)).isEqualTo("*");
  }

  @Test
  void aCleanPathIsNotCopied() {
    String target = "/api/v1/items?page=2";
    assertThat(RequestTarget.normalise(target, "GET", HOST)).isSameAs(target);
  }
}
