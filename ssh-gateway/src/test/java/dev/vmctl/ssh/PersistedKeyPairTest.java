package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PersistedKeyPairTest {
  @Test
  void aKeyFileIsCreatedOnceOwnerOnlyAndReadBackUnchanged(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sub/host-key");
    KeyPair first = PersistedKeyPair.loadOrCreate(file);
    KeyPair second = PersistedKeyPair.loadOrCreate(file);
    assertThat(second.getPublic().getEncoded()).isEqualTo(first.getPublic().getEncoded());
    assertThat(second.getPrivate().getEncoded()).isEqualTo(first.getPrivate().getEncoded());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
  }

  @Test
  void aCorruptFileIsAnErrorNotANewKey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("host-key");
    Files.writeString(file, "garbage\n");
    assertThatThrownBy(() -> PersistedKeyPair.loadOrCreate(file))
        .hasMessageContaining("not a key pair");
  }
}
