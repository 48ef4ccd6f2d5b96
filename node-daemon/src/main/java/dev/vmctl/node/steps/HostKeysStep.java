package dev.vmctl.node.steps;

import dev.vmctl.node.hostkeys.HostKeyStore;
import dev.vmctl.node.hostkeys.RootFiles;
import dev.vmctl.node.hostkeys.SshHostKey;
import dev.vmctl.node.storage.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The VM's SSH host key, made on the host once ({@link HostKeyStore}, in the VM's state directory)
 * and placed in the root volume's {@code /etc/ssh} before every boot whose volume lacks it, so the
 * guest's sshd starts with it and generates nothing (docs/architecture.md decision 28). Applied
 * only while the hypervisor is down: the reconciler runs it in the start pass, right before the
 * hypervisor step. Measured by reading the files back from the volume; the public key is what the
 * pass publishes in {@code status.sshHostKeys}.
 */
public final class HostKeysStep implements HostStep {
  static final String GUEST_PRIVATE = "/etc/ssh/" + SshHostKey.FILE;
  static final String GUEST_PUBLIC = GUEST_PRIVATE + ".pub";

  private final Storage storage;
  private final RootFiles files;

  public HostKeysStep(Storage storage, RootFiles files) {
    this.storage = storage;
    this.files = files;
  }

  @Override
  public String name() {
    return "SSH host keys";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    Optional<SshHostKey> key = HostKeyStore.read(pass.plan().dir());
    return key.isEmpty() || !inGuest(pass, key.get());
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    Path dir = pass.plan().dir();
    HostKeyStore.loadOrCreate(dir);
    files.write(
        storage.rootDevice(pass.plan()),
        List.of(
            new RootFiles.GuestFile(GUEST_PRIVATE, HostKeyStore.privateFile(dir), 0600),
            new RootFiles.GuestFile(GUEST_PUBLIC, HostKeyStore.publicFile(dir), 0644)));
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    Optional<SshHostKey> key = HostKeyStore.read(pass.plan().dir());
    return key.isPresent() && inGuest(pass, key.get());
  }

  /** The keys {@code status.sshHostKeys} shows: those the volume was given (none before). */
  public static List<String> published(Path vmDir) throws IOException {
    return HostKeyStore.read(vmDir).map(k -> List.of(k.publicLine())).orElse(null);
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    Path dir = HostKeyStore.dir(pass.plan().dir());
    Files.deleteIfExists(HostKeyStore.privateFile(pass.plan().dir()));
    Files.deleteIfExists(HostKeyStore.publicFile(pass.plan().dir()));
    Files.deleteIfExists(dir);
  }

  private boolean inGuest(VmPass pass, SshHostKey key) throws IOException {
    String volume = storage.rootDevice(pass.plan());
    return Arrays.equals(files.read(volume, GUEST_PRIVATE), key.privateFile())
        && new String(files.read(volume, GUEST_PUBLIC), StandardCharsets.US_ASCII)
            .equals(new String(key.publicFile(), StandardCharsets.US_ASCII));
  }
}
