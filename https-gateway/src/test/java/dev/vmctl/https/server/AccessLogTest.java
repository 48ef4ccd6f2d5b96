package dev.vmctl.https.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AccessLogTest {
  @Test
  void tokensAndQueryStringsNeverReachTheLog() {
    assertThat(AccessLog.redact("/__vmctl/login/abc.def?next=https://x/"))
        .isEqualTo("/__vmctl/login/<redacted>");
    assertThat(AccessLog.redact("/__vmctl/share/s3cret")).isEqualTo("/__vmctl/share/<redacted>");
    assertThat(AccessLog.redact("/app?token=s3cret")).isEqualTo("/app");
    assertThat(AccessLog.redact("/plain/path")).isEqualTo("/plain/path");
  }

  @Test
  void pagesEscapeWhatTheyShow() {
    assertThat(Pages.escape("<script>\"&'")).isEqualTo("&lt;script&gt;&quot;&amp;&#39;");
  }
}
