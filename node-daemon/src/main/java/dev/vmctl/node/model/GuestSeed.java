package dev.vmctl.node.model;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What the node daemon writes into a VM's root volume before each boot so that SSH logins need
 * nothing from the guest agent (docs/architecture.md decision 29): the network (applied by a udev
 * rule when the NIC appears), the hostname, the authorised keys and a token the guest prints on the
 * serial console once sshd listens with that network. A pure function of the plan; the step that
 * writes it is {@code GuestSeedStep}.
 */
public final class GuestSeed {
  public static final String SEED_DIR = "/etc/vmctl/seed";
  public static final String NETWORK = SEED_DIR + "/network";
  public static final String BOOT = SEED_DIR + "/boot";
  public static final String HOSTNAME = "/etc/hostname";
  public static final String HOSTS = "/etc/hosts";

  /** The guest agent accepts the same shapes (Operations.KEY): no options, one line each. */
  private static final Pattern KEY =
      Pattern.compile(
          "(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\\.com)"
              + " [A-Za-z0-9+/=]+( [^\\n\\r]*)?");

  private GuestSeed() {}

  /**
   * One file of the seed.
   *
   * @param userOwned owned by the guest user (as its {@code ~/.ssh} is), not by root
   */
  public record File(String path, String content, int mode, boolean userOwned) {}

  /** Where the guest user's authorised keys live. */
  public static String keysPath(String user) {
    return "/home/" + user + "/.ssh/authorized_keys";
  }

  /** The line the guest prints on its console when this boot takes SSH logins. */
  public static String readyLine(String token) {
    return "vmctl-ready " + token;
  }

  /**
   * The seed's files.
   *
   * @param address the VM's IPv4 address (without prefix)
   * @param keys the authorised keys; shapes the agent would refuse are left out
   * @param token this boot's token (random, from the step)
   */
  public static List<File> files(
      VmPlan plan, String address, List<String> keys, String user, String token) {
    List<File> files = new ArrayList<>();
    files.add(
        new File(
            NETWORK,
            "MAC="
                + plan.mac()
                + "\nADDRESS="
                + address
                + "/"
                + plan.prefix()
                + "\nGATEWAY="
                + plan.gateway()
                + "\nMTU=1500\n",
            0644,
            false));
    files.add(new File(BOOT, token + "\n", 0644, false));
    files.add(new File(HOSTNAME, plan.name() + "\n", 0644, false));
    files.add(
        new File(
            HOSTS,
            "127.0.0.1 localhost\n127.0.1.1 "
                + plan.name()
                + "\n::1 localhost ip6-localhost ip6-loopback\n",
            0644,
            false));
    StringBuilder authorized =
        new StringBuilder("# written by vmctl before boot; the guest agent keeps it current\n");
    keys.stream()
        .map(String::strip)
        .filter(k -> KEY.matcher(k).matches())
        .forEach(k -> authorized.append(k).append('\n'));
    files.add(new File(keysPath(user), authorized.toString(), 0600, true));
    return files;
  }
}
