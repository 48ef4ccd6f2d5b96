package dev.vmctl.node.hostkeys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostKeyStoreTest {
  @TempDir Path vmDir;

  @Test
  void aKeyIsMadeOnceAndReadBackTheSameAfterwards() throws Exception {
    assertThat(HostKeyStore.read(vmDir)).isEmpty();
    SshHostKey made = HostKeyStore.loadOrCreate(vmDir);
    SshHostKey again = HostKeyStore.loadOrCreate(vmDir); // a daemon restart, a VM restart
    assertThat(again.publicLine()).isEqualTo(made.publicLine());
    assertThat(again.privateFile()).isEqualTo(made.privateFile());
    assertThat(HostKeyStore.read(vmDir).orElseThrow().publicLine()).isEqualTo(made.publicLine());
  }

  @Test
  void onlyRootReadsThePrivateKey() throws Exception {
    HostKeyStore.loadOrCreate(vmDir);
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(HostKeyStore.dir(vmDir))))
        .isEqualTo("rwx------");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(HostKeyStore.privateFile(vmDir))))
        .isEqualTo("rw-------");
    assertThat(Files.readString(HostKeyStore.publicFile(vmDir))).startsWith("ssh-ed25519 ");
    try (var files = Files.list(HostKeyStore.dir(vmDir))) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactlyInAnyOrder("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub");
    }
  }

  @Test
  void aHalfWrittenKeyIsReplacedByAWholeOne() throws Exception {
    // A daemon killed after the private file but before the public one: no key yet.
    Files.createDirectories(HostKeyStore.dir(vmDir));
    Files.writeString(HostKeyStore.privateFile(vmDir), "partial");
    Files.writeString(HostKeyStore.publicFile(vmDir).resolveSibling("x.tmp"), "junk");
    assertThat(HostKeyStore.read(vmDir)).isEmpty();
    SshHostKey key = HostKeyStore.loadOrCreate(vmDir);
    assertThat(Files.readAllBytes(HostKeyStore.privateFile(vmDir))).isEqualTo(key.privateFile());
  }
}
