package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
import java.io.IOException;
import java.util.UUID;

/**
 * How vmctl formats data volumes. New volumes are clones of one formatted template per pool, grown
 * to their size (the guest grows the filesystem at boot, {@code vmctl-growdata.service}), so
 * creating one costs a clone, a truncate and a UUID change instead of a mkfs.
 */
final class DataTemplate {
  private DataTemplate() {}

  /** Named after the recipe below: a changed recipe makes a new template. */
  static final String NAME = "data-ext4-v1";

  /**
   * The template's size, the smallest data volume the CRD allows. ext4's reserved group descriptors
   * let it grow online to 1024 times that (1 TiB).
   */
  static final long SIZE = 1L << 30;

  /** The uid and gid of the image's user (images/base/setup.sh), who owns {@code /data}. */
  static final int GUEST_UID = 1000;

  /**
   * Formats a blank volume: label vmctl-data, root directory owned by the guest's user, and the
   * checksum seed kept in the superblock so that each clone's UUID can be changed instantly.
   *
   * @param tablesNow write inode tables and journal now (the 1 GiB template: once per pool, not in
   *     every guest) rather than leave them to the guest kernel (a full-size volume repaired after
   *     a crash, where writing them would take seconds)
   */
  static void format(Commands commands, String device, boolean tablesNow) throws IOException {
    String lazy = tablesNow ? "0" : "1";
    commands.must(
        "mkfs.ext4",
        "-q",
        "-F",
        "-L",
        Storage.DATA_LABEL,
        "-O",
        "metadata_csum_seed",
        "-E",
        "root_owner="
            + GUEST_UID
            + ":"
            + GUEST_UID
            + ",lazy_itable_init="
            + lazy
            + ",lazy_journal_init="
            + lazy
            + ",nodiscard",
        device);
  }

  /** A clone's own filesystem UUID (from SecureRandom), so no two volumes share one. */
  static void giveOwnIdentity(Commands commands, String device) throws IOException {
    commands.must("tune2fs", "-U", UUID.randomUUID().toString(), device);
  }
}
