package dev.vmctl.node.net;

import dev.vmctl.agent.Json;
import dev.vmctl.node.host.Commands;
import dev.vmctl.node.model.Subnet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The host side of VM networking, through {@code ip} and {@code nft}: one bridge carrying the VM
 * subnet (its first address is the VMs' gateway), a TAP device per VM on it, nftables masquerade
 * for egress and, by default, no VM-to-VM traffic. Optionally everything lives in a network
 * namespace (local runs and tests), so the machine's own networking is untouched.
 */
public final class Network implements HostNetwork {
  static final String TABLE = "vmctl";
  private final Commands commands;
  private final String netns;
  private final String bridge;
  private final Subnet subnet;

  public Network(Commands commands, String netns, String bridge, Subnet subnet) {
    this.commands = commands;
    this.netns = netns;
    this.bridge = bridge;
    this.subnet = subnet;
  }

  public String netns() {
    return netns;
  }

  private Commands.Result ip(String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of("ip"));
    if (netns != null && !netns.isBlank()) {
      argv.addAll(List.of("-n", netns));
    }
    argv.addAll(List.of(args));
    return commands.run(argv);
  }

  private void mustIp(String... args) throws IOException {
    Commands.Result r = ip(args);
    if (!r.ok()) {
      throw new IOException("ip " + String.join(" ", args) + ": " + r.stderr().strip());
    }
  }

  private boolean linkExists(String name) throws IOException {
    return ip("link", "show", "dev", name).ok();
  }

  /** Bridge with the gateway address, forwarding and nftables rules; each part measured first. */
  public void ensureBridge() throws IOException {
    if (!bridgeReady()) {
      createBridge();
    }
    if (!rulesLoaded()) {
      loadRules();
    }
  }

  @Override
  public boolean bridgeReady() throws IOException {
    Commands.Result shown = ip("-j", "addr", "show", "dev", bridge);
    return shown.ok() && bridgeState(shown.stdout(), subnet.gateway(), subnet.prefix()).ready();
  }

  /**
   * What {@code ip -j addr show dev X} says of the bridge: up, and carrying the gateway address.
   */
  record BridgeState(boolean up, boolean addressed) {
    boolean ready() {
      return up && addressed;
    }
  }

  @SuppressWarnings("unchecked")
  static BridgeState bridgeState(String json, String address, int prefix) {
    Object parsed = Json.parse(json.strip());
    if (!(parsed instanceof List<?> links) || links.size() != 1) {
      return new BridgeState(false, false);
    }
    Map<String, Object> link = (Map<String, Object>) links.get(0);
    boolean up = link.get("flags") instanceof List<?> f && f.contains("UP");
    boolean addressed =
        link.get("addr_info") instanceof List<?> addrs
            && addrs.stream()
                .anyMatch(
                    a ->
                        a instanceof Map<?, ?> m
                            && address.equals(m.get("local"))
                            && m.get("prefixlen") instanceof Number n
                            && n.intValue() == prefix);
    return new BridgeState(up, addressed);
  }

  /** Each part measured first: an existing bridge is not added again, an up one not set up. */
  @Override
  public void createBridge() throws IOException {
    if (!linkExists(bridge)) {
      mustIp("link", "add", bridge, "type", "bridge");
    }
    BridgeState state =
        bridgeState(
            ip("-j", "addr", "show", "dev", bridge).stdout(), subnet.gateway(), subnet.prefix());
    if (!state.addressed()) {
      mustIp("addr", "add", subnet.gateway() + "/" + subnet.prefix(), "dev", bridge);
    }
    if (!state.up()) {
      mustIp("link", "set", bridge, "up");
    }
  }

  /** The rules' marker: a table without it is from an older daemon and is replaced whole. */
  static final String INPUT_MARK = "no VM-to-host traffic";

  /**
   * The host's own rules for VM traffic: no VM reaches another VM (forward), no VM reaches the
   * host's own services (input: only replies to connections the host opened, and ping of the
   * gateway), VM egress leaves through NAT. Measured by content, not by the table's existence, so
   * an older or hand-edited table is replaced in one atomic nft transaction.
   */
  @Override
  public boolean rulesLoaded() throws IOException {
    Commands.Result current = commands.run(listTable());
    if (!current.ok() || !RULE_MARKS.stream().allMatch(current.stdout()::contains)) {
      return false;
    }
    Commands.Result forwarding =
        commands.run(Commands.inNetns(netns, List.of("sysctl", "-n", "net.ipv4.ip_forward")));
    return forwarding.ok() && forwarding.stdout().strip().equals("1");
  }

  /** Each of the table's rules carries one of these comments: listed means loaded. */
  static final List<String> RULE_MARKS = List.of(INPUT_MARK, "no VM-to-VM traffic", "VM egress");

  private List<String> listTable() {
    return Commands.inNetns(netns, List.of("nft", "list", "table", "inet", TABLE));
  }

  @Override
  public void loadRules() throws IOException {
    String rules =
        """
        table inet %1$s
        delete table inet %1$s
        table inet %1$s {
          chain input {
            type filter hook input priority 0; policy accept;
            iifname "%2$s" ct state established,related accept
            iifname "%2$s" ip daddr %4$s icmp type echo-request accept
            iifname "%2$s" drop comment "%5$s"
          }
          chain forward {
            type filter hook forward priority 0; policy accept;
            iifname "%2$s" oifname "%2$s" ip saddr %3$s ip daddr %3$s ip daddr != %4$s drop comment "no VM-to-VM traffic"
          }
          chain postrouting {
            type nat hook postrouting priority 100; policy accept;
            ip saddr %3$s oifname != "%2$s" masquerade comment "VM egress"
          }
        }
        """
            .formatted(TABLE, bridge, subnet.cidr(), subnet.gateway(), INPUT_MARK);
    java.nio.file.Path file = java.nio.file.Files.createTempFile("vmctl-nft", ".nft");
    try {
      java.nio.file.Files.writeString(file, rules);
      Commands.Result r =
          commands.run(Commands.inNetns(netns, List.of("nft", "-f", file.toString())));
      if (!r.ok()) {
        throw new IOException("nft: " + r.stderr().strip());
      }
    } finally {
      java.nio.file.Files.deleteIfExists(file);
    }
    // Forwarding for VM egress; its result is checked by rulesLoaded, the step's verify.
    Commands.Result sysctl =
        commands.run(Commands.inNetns(netns, List.of("sysctl", "-qw", "net.ipv4.ip_forward=1")));
    if (!sysctl.ok()) {
      throw new IOException("net.ipv4.ip_forward could not be enabled: " + sysctl.stderr().strip());
    }
  }

  /**
   * TAP device on the bridge, isolated from the other VM ports. One {@code ip -d -j link show}
   * measures all three facts, so a resync of a VM whose TAP is right runs one command, not the
   * create/attach/isolate commands again.
   */
  public void ensureTap(String tap) throws IOException {
    if (!tapReady(tap)) {
      createTap(tap);
    }
  }

  @Override
  public boolean tapReady(String tap) throws IOException {
    Commands.Result shown = ip("-d", "-j", "link", "show", "dev", tap);
    return shown.ok() && attachedIsolatedAndUp(shown.stdout(), bridge);
  }

  @Override
  public void createTap(String tap) throws IOException {
    if (!linkExists(tap)) {
      mustIp("tuntap", "add", "dev", tap, "mode", "tap");
    }
    attachIsolated(tap);
  }

  /** Parses {@code ip -d -j link show dev X}: on {@code bridge}, administratively up, isolated. */
  @SuppressWarnings("unchecked")
  static boolean attachedIsolatedAndUp(String json, String bridge) {
    Object parsed = Json.parse(json.strip());
    if (!(parsed instanceof List<?> links) || links.size() != 1) {
      return false;
    }
    Map<String, Object> link = (Map<String, Object>) links.get(0);
    Object flags = link.get("flags");
    Object info = link.get("linkinfo");
    Object slave = info instanceof Map<?, ?> m ? m.get("info_slave_data") : null;
    return bridge.equals(link.get("master"))
        && flags instanceof List<?> f
        && f.contains("UP")
        && slave instanceof Map<?, ?> sd
        && Boolean.TRUE.equals(sd.get("isolated"));
  }

  /**
   * Puts a port on the bridge, up and isolated: isolated ports cannot reach each other, only the
   * bridge itself (the VMs' gateway), so VMs on a host do not see each other by default.
   */
  public void attachIsolated(String port) throws IOException {
    mustIp("link", "set", port, "master", bridge, "up");
    Commands.Result r = commands.run(bridgeCmd("link", "set", "dev", port, "isolated", "on"));
    if (!r.ok()) {
      throw new IOException("bridge link set isolated: " + r.stderr().strip());
    }
  }

  private List<String> bridgeCmd(String... args) {
    List<String> argv = new ArrayList<>(List.of("bridge"));
    if (netns != null && !netns.isBlank()) {
      argv.addAll(List.of("-n", netns));
    }
    argv.addAll(List.of(args));
    return argv;
  }

  public boolean tapExists(String tap) throws IOException {
    return linkExists(tap);
  }

  @Override
  public void removeTap(String tap) throws IOException {
    if (linkExists(tap)) {
      mustIp("link", "delete", tap);
    }
  }
}
