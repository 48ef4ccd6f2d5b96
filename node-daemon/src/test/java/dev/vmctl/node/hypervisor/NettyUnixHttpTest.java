package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP client against the emulated micro-http server. */
@Timeout(60)
class NettyUnixHttpTest {
  static final Duration T = Duration.ofSeconds(5);
  @TempDir Path dir;

  @Test
  void readsKeepAlive204sOnOneConnectionAndReconnectsAfterTheServerWentAway() throws IOException {
    Path socket = dir.resolve("api.sock");
    try (UnixHttp http = new NettyUnixHttp(socket, T)) {
      try (CloudHypervisorEmulator vmm = new CloudHypervisorEmulator(socket)) {
        String config = "{\"payload\":{\"kernel\":\"/k\"}}";
        assertThat(http.request("PUT", "/api/v1/vm.create", config, T))
            .isEqualTo(new UnixHttp.Response(204, ""));
        assertThat(http.request("PUT", "/api/v1/vm.delete", null, T).status()).isEqualTo(204);
        assertThat(http.request("GET", "/api/v1/vmm.ping", null, T).status()).isEqualTo(200);
        assertThat(vmm.acceptedConnections()).isEqualTo(1);
        vmm.kill();
      }
      assertThatThrownBy(() -> http.request("GET", "/api/v1/vmm.ping", null, T))
          .isInstanceOf(ConnectException.class); // stale socket: refused
      try (CloudHypervisorEmulator again = new CloudHypervisorEmulator(socket)) {
        assertThat(http.request("GET", "/api/v1/vmm.ping", null, T).status()).isEqualTo(200);
      }
    }
  }

  @Test
  void returnsThe503AFullServerWritesBeforeAnyRequest() throws IOException {
    Path socket = dir.resolve("api.sock");
    List<RawHttp> held = new ArrayList<>();
    try (CloudHypervisorEmulator vmm = new CloudHypervisorEmulator(socket);
        UnixHttp http = new NettyUnixHttp(socket, T)) {
      for (int i = 0; i < MicroHttp.MAX_CONNECTIONS; i++) {
        RawHttp c = new RawHttp(socket);
        held.add(c);
        c.exchange("GET", "/api/v1/vmm.ping", null);
      }
      UnixHttp.Response r = http.request("GET", "/api/v1/vmm.ping", null, T);
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.body()).contains("Too many open connections");
    } finally {
      for (RawHttp c : held) {
        c.close();
      }
    }
  }
}
