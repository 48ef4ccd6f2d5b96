package dev.vmctl.node.hostkeys;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Files in the filesystem of a VM's root volume, read and written from the host while the VM is not
 * running (the only time anything but the guest may touch it). The narrow interface for this host
 * side effect: {@link DebugfsRootFiles} on the host, an in-memory fake in kube tests.
 */
public interface RootFiles {
  /**
   * A file to place in the guest, owned by root unless an owner is given.
   *
   * @param guestPath absolute path inside the guest; its directory must exist in the image
   * @param source the host file whose content it gets
   * @param mode permission bits, e.g. 0600
   */
  record GuestFile(String guestPath, Path source, int mode, Owner owner) {
    public GuestFile(String guestPath, Path source, int mode) {
      this(guestPath, source, mode, Owner.ROOT);
    }
  }

  /** Numeric owner of a file in the guest's filesystem. */
  record Owner(int uid, int gid) {
    public static final Owner ROOT = new Owner(0, 0);
  }

  /** The owner of a directory in the volume's filesystem, empty when it is not a directory. */
  Optional<Owner> directoryOwner(String volume, String guestPath) throws IOException;

  /** The content of a file in the volume's filesystem, empty when it is absent. */
  byte[] read(String volume, String guestPath) throws IOException;

  /** Writes the files into the volume's filesystem, replacing any of the same name. */
  void write(String volume, List<GuestFile> files) throws IOException;
}
