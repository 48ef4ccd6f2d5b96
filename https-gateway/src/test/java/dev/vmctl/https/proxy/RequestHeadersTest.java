package dev.vmctl.https.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.https.access.Visitor;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

class RequestHeadersTest {
  @Test
  void headersNamedInConnectionAreDroppedButNeverFraming() {
    HttpHeaders h = new DefaultHttpHeaders();
    h.add("Connection", "keep-alive, X-Secret");
    h.add("Connection", "x-other ,Content-Length, Host, Transfer-Encoding");
    h.add("X-Secret", "1");
    h.add("X-Other", "2");
    h.add("X-Kept", "3");
    h.add("Content-Length", "5");
    RequestHeaders.forBackend(h, Visitor.ANONYMOUS, "10.0.0.1", "box.vm.localhost", false);
    assertThat(h.names())
        .doesNotContain("X-Secret", "X-Other", "Connection")
        .contains("X-Kept", "Content-Length");
    assertThat(h.get("Host")).isEqualTo("box.vm.localhost");
  }

  @Test
  void identityAndForwardingHeadersSpelledWithUnderscoresAreDropped() {
    HttpHeaders h = new DefaultHttpHeaders();
    h.add("X_VmCtl_UserID", "me");
    h.add("x_forwarded_for", "6.6.6.6");
    h.add("X-Real_IP", "6.6.6.6");
    h.add("App_Header", "kept");
    RequestHeaders.forBackend(h, Visitor.ANONYMOUS, "10.0.0.1", "box.vm.localhost", false);
    assertThat(h.names()).doesNotContain("X_VmCtl_UserID", "x_forwarded_for", "X-Real_IP");
    assertThat(h.get("App_Header")).isEqualTo("kept");
    assertThat(h.getAll("X-Forwarded-For")).containsExactly("10.0.0.1");
  }

  @Test
  void onlyASingleChunkedCodingIsAccepted() {
    assertThat(RequestHeaders.onlyChunked(with())).isTrue();
    assertThat(RequestHeaders.onlyChunked(with("chunked"))).isTrue();
    assertThat(RequestHeaders.onlyChunked(with("Chunked"))).isTrue();
    assertThat(RequestHeaders.onlyChunked(with("identity, chunked"))).isFalse();
    assertThat(RequestHeaders.onlyChunked(with("gzip, chunked"))).isFalse();
    assertThat(RequestHeaders.onlyChunked(with("chunked", "chunked"))).isFalse();
  }

  private static HttpHeaders with(String... codings) {
    HttpHeaders h = new DefaultHttpHeaders();
    for (String coding : codings) {
      h.add("Transfer-Encoding", coding);
    }
    return h;
  }
}
