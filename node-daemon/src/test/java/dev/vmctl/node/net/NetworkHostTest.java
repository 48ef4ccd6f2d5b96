package dev.vmctl.node.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.node.host.Commands;
import dev.vmctl.node.host.ProcessCommands;
import dev.vmctl.node.model.Subnet;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The real bridge, nftables and port isolation, in network namespaces this test creates: a "host"
 * namespace with the bridge and two "guest" namespaces attached through veth pairs (a TAP has no
 * carrier without a hypervisor behind it; the bridge treats both kinds of port the same). Guests
 * reach the gateway, not each other.
 */
@Tag("host")
class NetworkHostTest {
  final Commands commands = new ProcessCommands();
  final String suffix = UUID.randomUUID().toString().substring(0, 6);
  final String host = "vmctl-nh-" + suffix;
  final String g1 = "vmctl-ng1-" + suffix;
  final String g2 = "vmctl-ng2-" + suffix;
  final String outside = "vmctl-no-" + suffix;
  final List<Process> servers = new java.util.ArrayList<>();
  Network network;

  @BeforeEach
  void namespaces() throws IOException {
    for (String ns : List.of(host, g1, g2, outside)) {
      commands.must("ip", "netns", "add", ns);
      commands.must("ip", "-n", ns, "link", "set", "lo", "up");
    }
    network = new Network(commands, host, "br0", Subnet.parse("10.126.0.0/24"));
  }

  @AfterEach
  void cleanup() throws IOException {
    servers.forEach(Process::destroyForcibly);
    for (String ns : List.of(host, g1, g2, outside)) {
      commands.run(List.of("ip", "netns", "delete", ns));
    }
  }

  void guest(String ns, String port, String address) throws IOException {
    commands.must(
        "ip", "-n", host, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
    network.attachIsolated(port);
    commands.must("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
    commands.must("ip", "-n", ns, "link", "set", "eth0", "up");
    commands.must("ip", "-n", ns, "route", "add", "default", "via", "10.126.0.1");
  }

  boolean ping(String from, String to) throws IOException {
    return commands
        .run(List.of("ip", "netns", "exec", from, "ping", "-c", "1", "-W", "1", to))
        .ok();
  }

  @Test
  void guestsReachTheGatewayButNotEachOther() throws IOException {
    network.ensureBridge();
    network.ensureBridge(); // idempotent: measured, nothing added twice
    String addrs = commands.must("ip", "-n", host, "-o", "addr", "show", "dev", "br0");
    assertThat(addrs.lines().filter(l -> l.contains("10.126.0.1/24"))).hasSize(1);
    String rules =
        commands.must("ip", "netns", "exec", host, "nft", "list", "table", "inet", "vmctl");
    assertThat(rules).contains("masquerade").contains("drop");

    guest(g1, "vp1", "10.126.0.2");
    guest(g2, "vp2", "10.126.0.3");
    assertThat(ping(g1, "10.126.0.1")).as("guest 1 reaches the gateway").isTrue();
    assertThat(ping(g2, "10.126.0.1")).as("guest 2 reaches the gateway").isTrue();
    assertThat(ping(g1, "10.126.0.3")).as("guest 1 cannot reach guest 2").isFalse();
    assertThat(ping(g2, "10.126.0.2")).as("guest 2 cannot reach guest 1").isFalse();
  }

  @Test
  void tapsAreCreatedOnceAndRemoved() throws IOException {
    network.ensureBridge();
    network.ensureTap("vttest0");
    network.ensureTap("vttest0");
    assertThat(network.tapExists("vttest0")).isTrue();
    assertThat(commands.must("ip", "-n", host, "-d", "link", "show", "dev", "vttest0"))
        .contains("master br0");
    assertThat(commands.must("bridge", "-n", host, "-d", "link", "show", "dev", "vttest0"))
        .contains("isolated on");
    network.removeTap("vttest0");
    network.removeTap("vttest0");
    assertThat(network.tapExists("vttest0")).isFalse();
  }

  void serve(String ns, int port) throws Exception {
    servers.add(
        NamespaceWeb.serve(ns, port, java.nio.file.Files.createTempDirectory("vmctl-nh-www")));
  }

  boolean fetch(String from, String address, int port) throws Exception {
    return NamespaceWeb.fetch(from, address, port);
  }

  /**
   * Issue 21 item 8: guests stop at the host's input filter (any port, any host address), while
   * egress through NAT, ping of the gateway and connections the host opens to a guest still work.
   */
  @Test
  void guestsCannotReachHostServicesButEgressAndHostToGuestWork() throws Exception {
    network.ensureBridge();
    guest(g1, "vp1", "10.126.0.2");
    NamespaceWeb.linkOutside(host, outside, "10.127.0");
    serve(host, 18080); // a host service, like the SSH gateway or a metrics port
    serve(outside, 18080); // the world beyond the host
    serve(g1, 18080); // the guest's own web server

    assertThat(fetch(host, "127.0.0.1", 18080)).as("the host service runs").isTrue();
    assertThat(fetch(g1, "10.126.0.1", 18080)).as("host service on the gateway address").isFalse();
    assertThat(fetch(g1, "10.127.0.1", 18080)).as("host service on another address").isFalse();
    assertThat(fetch(g1, "10.127.0.2", 18080)).as("egress through NAT").isTrue();
    assertThat(ping(g1, "10.126.0.1")).as("ping of the gateway").isTrue();
    assertThat(fetch(host, "10.126.0.2", 18080)).as("host to guest (gateways)").isTrue();
  }

  /** A table from an older daemon (no input chain) is replaced, not trusted by its name. */
  @Test
  void anOlderTableWithoutTheInputFilterIsReplaced() throws IOException {
    commands.must("ip", "netns", "exec", host, "nft", "add", "table", "inet", Network.TABLE);
    network.ensureBridge();
    assertThat(commands.must("ip", "netns", "exec", host, "nft", "list", "table", "inet", "vmctl"))
        .contains(Network.INPUT_MARK)
        .contains("masquerade");
  }
}
