package dev.vmctl.node.hostkeys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.node.host.ProcessCommands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real e2fsprogs on an ext4 image file made by the test: no root, no mount. */
class DebugfsRootFilesTest {
  @TempDir Path dir;
  private final ProcessCommands commands = new ProcessCommands();
  private final DebugfsRootFiles files = new DebugfsRootFiles(commands);
  private String volume;

  @BeforeEach
  void image() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree.resolve("etc/ssh"));
    Files.writeString(tree.resolve("etc/ssh/ssh_host_ed25519_key"), "old key from the image\n");
    volume = dir.resolve("root.img").toString();
    commands.must("mkfs.ext4", "-q", "-F", "-d", tree.toString(), volume, "32M");
  }

  @Test
  void writesReplaceFilesWithRootOwnerAndModeAndReadBack() throws Exception {
    SshHostKey key = HostKeyStore.loadOrCreate(dir.resolve("vm"));
    Path vmDir = dir.resolve("vm");
    files.write(
        volume,
        List.of(
            new RootFiles.GuestFile(
                "/etc/ssh/ssh_host_ed25519_key", HostKeyStore.privateFile(vmDir), 0600),
            new RootFiles.GuestFile(
                "/etc/ssh/ssh_host_ed25519_key.pub", HostKeyStore.publicFile(vmDir), 0644)));
    assertThat(files.read(volume, "/etc/ssh/ssh_host_ed25519_key")).isEqualTo(key.privateFile());
    assertThat(new String(files.read(volume, "/etc/ssh/ssh_host_ed25519_key.pub"), "US-ASCII"))
        .isEqualTo(key.publicLine() + "\n");
    String stat = commands.must("debugfs", "-R", "stat /etc/ssh/ssh_host_ed25519_key", volume);
    assertThat(stat).contains("Mode:  0600").containsPattern("User:\\s+0\\s+Group:\\s+0");
    assertThat(commands.must("debugfs", "-R", "stat /etc/ssh/ssh_host_ed25519_key.pub", volume))
        .contains("Mode:  0644");
    // e2fsck finds nothing to repair: the filesystem stays consistent.
    assertThat(commands.run(List.of("e2fsck", "-fn", volume)).exitCode()).isZero();
  }

  @Test
  void aFileGetsTheOwnerItIsGivenAndDirectoriesTellTheirs() throws Exception {
    Path tree = dir.resolve("tree2");
    Files.createDirectories(tree.resolve("home/vmctl/.ssh"));
    String home = dir.resolve("home.img").toString();
    commands.must("mkfs.ext4", "-q", "-F", "-d", tree.toString(), home, "32M");
    commands.must("debugfs", "-w", "-R", "sif /home/vmctl/.ssh uid 1000", home);
    commands.must("debugfs", "-w", "-R", "sif /home/vmctl/.ssh gid 1001", home);

    RootFiles.Owner owner = files.directoryOwner(home, "/home/vmctl/.ssh").orElseThrow();
    assertThat(owner).isEqualTo(new RootFiles.Owner(1000, 1001));
    assertThat(files.directoryOwner(home, "/home/nobody")).isEmpty();
    Path source = dir.resolve("keys");
    Files.writeString(source, "ssh-ed25519 AAAA x\n", StandardCharsets.US_ASCII);
    files.write(
        home,
        List.of(new RootFiles.GuestFile("/home/vmctl/.ssh/authorized_keys", source, 0600, owner)));
    assertThat(commands.must("debugfs", "-R", "stat /home/vmctl/.ssh/authorized_keys", home))
        .contains("Mode:  0600")
        .containsPattern("User:\\s+1000\\s+Group:\\s+1001");
  }

  @Test
  void anAbsentFileReadsAsEmpty() throws Exception {
    assertThat(files.read(volume, "/etc/ssh/nothing")).isEmpty();
  }

  @Test
  void aMissingDirectoryIsRefusedAndNothingIsWritten() throws Exception {
    Path source = dir.resolve("f");
    Files.writeString(source, "x", StandardCharsets.US_ASCII);
    assertThatThrownBy(
            () ->
                files.write(
                    volume, List.of(new RootFiles.GuestFile("/etc/nowhere/f", source, 0600))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("/etc/nowhere is not a directory");
    assertThat(commands.must("debugfs", "-R", "ls -l /", volume)).doesNotContain(" f ");
  }

  @Test
  void pathsDebugfsWouldSplitAreRefused() {
    assertThatThrownBy(() -> files.read(volume, "/etc/ssh/a b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> files.read(volume, "etc/ssh/x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
