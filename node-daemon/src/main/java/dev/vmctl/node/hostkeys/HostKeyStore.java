package dev.vmctl.node.hostkeys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Optional;

/**
 * A VM's SSH host key on the host, in its state directory ({@code <vm dir>/ssh-host-keys/}, mode
 * 700, the private key 600): made once, kept across daemon and VM restarts, removed with the VM's
 * directory. Files are written to a temporary name and renamed, so a daemon killed half-way leaves
 * either no key or a whole one.
 */
public final class HostKeyStore {
  private static final SecureRandom RANDOM = new SecureRandom();

  private HostKeyStore() {}

  /** The directory holding the VM's key files. */
  public static Path dir(Path vmDir) {
    return vmDir.resolve("ssh-host-keys");
  }

  /** The private key file; debugfs copies it into the guest from here. */
  public static Path privateFile(Path vmDir) {
    return dir(vmDir).resolve(SshHostKey.FILE);
  }

  public static Path publicFile(Path vmDir) {
    return dir(vmDir).resolve(SshHostKey.FILE + ".pub");
  }

  /** The key, when both files are there. */
  public static Optional<SshHostKey> read(Path vmDir) throws IOException {
    Path priv = privateFile(vmDir);
    Path pub = publicFile(vmDir);
    if (!Files.exists(priv) || !Files.exists(pub)) {
      return Optional.empty();
    }
    return Optional.of(
        SshHostKey.of(Files.readAllBytes(priv), Files.readString(pub, StandardCharsets.US_ASCII)));
  }

  /** The key, made now when the VM has none yet. */
  public static SshHostKey loadOrCreate(Path vmDir) throws IOException {
    Optional<SshHostKey> existing = read(vmDir);
    if (existing.isPresent()) {
      return existing.get();
    }
    SshHostKey key;
    try {
      key = SshHostKey.generate(RANDOM);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot make an SSH host key: " + e.getMessage(), e);
    }
    Path dir = dir(vmDir);
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    // The private key first: the public file's presence is what read() trusts last.
    write(privateFile(vmDir), key.privateFile(), "rw-------");
    write(publicFile(vmDir), key.publicFile(), "rw-r--r--");
    return key;
  }

  private static void write(Path target, byte[] content, String mode) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(
        tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    Files.write(tmp, content);
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
