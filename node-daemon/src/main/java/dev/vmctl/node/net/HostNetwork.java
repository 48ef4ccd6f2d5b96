package dev.vmctl.node.net;

import java.io.IOException;

/**
 * The host networking the node daemon's steps measure, create and verify: the VM bridge, the
 * nftables rules with forwarding, and a TAP device per VM. {@link Network} does it with {@code ip}
 * and {@code nft}; tests of the reconciler use an in-memory fake.
 */
public interface HostNetwork {
  /** The bridge exists, carries the VMs' gateway address and is up. */
  boolean bridgeReady() throws IOException;

  void createBridge() throws IOException;

  /** vmctl's nftables table holds every one of its rules, and IPv4 forwarding is on. */
  boolean rulesLoaded() throws IOException;

  void loadRules() throws IOException;

  /** The TAP device exists, is on the bridge, up and isolated. */
  boolean tapReady(String tap) throws IOException;

  void createTap(String tap) throws IOException;

  /** Removes the TAP device; an absent one is fine. */
  void removeTap(String tap) throws IOException;
}
