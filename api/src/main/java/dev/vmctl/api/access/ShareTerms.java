package dev.vmctl.api.access;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * When a Share is in force, as every component reads it (gateways for access, the node daemon for
 * the keys it installs): it names the VM in the VM's own namespace, is bound to that VM's uid, is
 * not being deleted and has not expired. Decided from the spec and the clock, so an expiry takes
 * effect at once, not when the operator next writes status.
 */
public final class ShareTerms {
  private ShareTerms() {}

  /**
   * Whether the Share grants access to {@code vm} now. It must be bound to this very VM ({@code
   * status.vmUid}, set by the operator when the Share first applies): a Share made for a deleted VM
   * never revives for a new VM of the same name, and an unbound one grants nothing yet.
   */
  public static boolean inForce(Share share, VirtualMachine vm, Instant now) {
    if (share.getSpec() == null
        || share.getMetadata().getDeletionTimestamp() != null
        || !vm.getMetadata().getName().equals(share.getSpec().vm)
        || !vm.getMetadata().getNamespace().equals(share.getMetadata().getNamespace())
        || share.getStatus() == null
        || share.getStatus().vmUid == null
        || !share.getStatus().vmUid.equals(vm.getMetadata().getUid())) {
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
