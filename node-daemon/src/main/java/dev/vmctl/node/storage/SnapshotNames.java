package dev.vmctl.node.storage;

import java.util.regex.Pattern;

/**
 * A snapshot's name on the host becomes a path and an LV name: only what a Kubernetes UID or a DNS
 * label can hold is accepted, so no name reaches outside the pool's snapshot directory.
 */
public final class SnapshotNames {
  private static final Pattern SAFE = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

  private SnapshotNames() {}

  /** The name itself, or IllegalArgumentException saying what a name may hold. */
  public static String checked(String name) {
    if (name == null || !SAFE.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "a snapshot's host name is 1-63 lower-case letters, digits and '-', not " + name);
    }
    return name;
  }
}
