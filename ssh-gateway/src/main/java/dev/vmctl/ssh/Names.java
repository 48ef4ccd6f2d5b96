package dev.vmctl.ssh;

import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** Names the gateway makes up: User names from emails, readable VM names. */
public final class Names {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final List<String> ADJECTIVES =
      List.of(
          "amber", "brave", "calm", "clever", "eager", "gentle", "happy", "jolly", "keen", "lively",
          "lucky", "mellow", "nimble", "proud", "quick", "quiet", "rapid", "shiny", "sunny",
          "swift", "tidy", "vivid", "witty", "zesty");
  private static final List<String> NOUNS =
      List.of(
          "badger", "beacon", "comet", "falcon", "fern", "harbor", "heron", "lantern", "maple",
          "meadow", "otter", "panda", "pebble", "pine", "raven", "river", "robin", "sparrow",
          "summit", "tiger", "tulip", "walrus", "willow", "zephyr");

  private Names() {}

  /** A VM/Share/User name: a DNS label (lower case, digits, inner dashes, at most 63). */
  public static boolean isDnsLabel(String name) {
    return name != null && name.length() <= 63 && name.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  }

  /**
   * A User name for an email: its local part as a DNS label, with {@code -2}, {@code -3}... when
   * the plain one is taken.
   */
  public static String userNameFor(String email, Predicate<String> taken) {
    String local = email.substring(0, Math.max(0, email.indexOf('@'))).toLowerCase(Locale.ROOT);
    String base = local.replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
    if (base.isEmpty()) {
      base = "user";
    }
    if (base.length() > 50) {
      base = base.substring(0, 50).replaceAll("-+$", "");
    }
    String candidate = base;
    for (int n = 2; taken.test(candidate); n++) {
      candidate = base + "-" + n;
    }
    return candidate;
  }

  /** A readable VM name such as {@code swift-otter-4f2a} that {@code taken} does not hold. */
  public static String vmName(Predicate<String> taken) {
    while (true) {
      String candidate =
          ADJECTIVES.get(RANDOM.nextInt(ADJECTIVES.size()))
              + "-"
              + NOUNS.get(RANDOM.nextInt(NOUNS.size()))
              + "-"
              + String.format("%04x", RANDOM.nextInt(0x10000));
      if (!taken.test(candidate)) {
        return candidate;
      }
    }
  }
}
