package dev.vmctl.api.access;

import dev.vmctl.api.v1alpha1.Share;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * When a Share is in force, as every component reads it (gateways for access, the node daemon for
 * the keys it installs): it names the VM in the VM's own namespace, is not being deleted and has
 * not expired. Decided from the spec and the clock, so an expiry takes effect at once, not when the
 * operator next writes status.
 */
public final class ShareTerms {
  private ShareTerms() {}

  public static boolean inForce(Share share, String vmNamespace, String vmName, Instant now) {
    if (share.getSpec() == null
        || share.getMetadata().getDeletionTimestamp() != null
        || !vmName.equals(share.getSpec().vm)
        || !vmNamespace.equals(share.getMetadata().getNamespace())) {
      return false;
    }
    String expiresAt = share.getSpec().expiresAt;
    if (expiresAt == null) {
      return true;
    }
    try {
      return now.isBefore(OffsetDateTime.parse(expiresAt).toInstant());
    } catch (DateTimeParseException e) {
      return false; // the CRD rejects such values; an unreadable expiry grants nothing
    }
  }

  /** Emails compare case-insensitively, ignoring surrounding blanks. */
  public static String normaliseEmail(String email) {
    return email == null ? "" : email.trim().toLowerCase(Locale.ROOT);
  }
}
