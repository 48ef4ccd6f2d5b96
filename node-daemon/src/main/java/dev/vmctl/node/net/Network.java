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
public final class Network {
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
    if (!linkExists(bridge)) {
      mustIp("link", "add", bridge, "type", "bridge");
    }
    String addr = subnet.gateway() + "/" + subnet.prefix();
    if (!ip("-o", "addr", "show", "dev", bridge).stdout().contains(" " + addr + " ")) {
      mustIp("addr", "add", addr, "dev", bridge);
    }
    mustIp("link", "set", bridge, "up");
    ensureNftables();
  }

  private void ensureNftables() throws IOException {
    List<String> check = Commands.inNetns(netns, List.of("nft", "list", "table", "inet", TABLE));
    if (commands.run(check).ok()) {
      return;
    }
    String rules =
        """
        table inet %1$s {
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
            .formatted(TABLE, bridge, subnet.cidr(), subnet.gateway());
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
    // Bridged frames between ports stay on the bridge; isolate ports at layer 2 as well.
    commands.run(Commands.inNetns(netns, List.of("sysctl", "-qw", "net.ipv4.ip_forward=1")));
  }

  /**
   * TAP device on the bridge, isolated from the other VM ports. One {@code ip -d -j link show}
   * measures all three facts, so a resync of a VM whose TAP is right runs one command, not the
   * create/attach/isolate commands again.
   */
  public void ensureTap(String tap) throws IOException {
    Commands.Result shown = ip("-d", "-j", "link", "show", "dev", tap);
    if (shown.ok() && attachedIsolatedAndUp(shown.stdout(), bridge)) {
      return;
    }
    if (!shown.ok()) {
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

  public void removeTap(String tap) throws IOException {
    if (linkExists(tap)) {
      mustIp("link", "delete", tap);
    }
  }
}
