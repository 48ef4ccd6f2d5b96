package dev.vmctl.node.hostkeys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshHostKeyTest {
  @TempDir Path dir;

  @Test
  void opensshReadsThePrivateKeyAndDerivesThePublishedPublicKey() throws Exception {
    SshHostKey key = SshHostKey.generate(new SecureRandom());
    String privateText = new String(key.privateFile(), StandardCharsets.US_ASCII);
    assertThat(privateText)
        .startsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        .endsWith("-----END OPENSSH PRIVATE KEY-----\n");
    assertThat(key.publicLine()).matches("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}");
    Path file = dir.resolve("key");
    Files.write(file, key.privateFile());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    // The real reader: ssh-keygen -y prints the public key of a private key file it can parse.
    Process p = new ProcessBuilder("ssh-keygen", "-y", "-f", file.toString()).start();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    String derived = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.exitValue()).as(new String(p.getErrorStream().readAllBytes())).isZero();
    assertThat(SshHostKey.publicLine(derived)).isEqualTo(key.publicLine());
  }

  @Test
  void keysAreFreshEachTimeAndToStringHidesThePrivateKey() throws Exception {
    SshHostKey a = SshHostKey.generate(new SecureRandom());
    SshHostKey b = SshHostKey.generate(new SecureRandom());
    assertThat(a.publicLine()).isNotEqualTo(b.publicLine());
    assertThat(a.privateFile()).isNotEqualTo(b.privateFile());
    assertThat(a.toString()).contains(a.publicLine()).doesNotContain("PRIVATE");
    String body = new String(a.privateFile(), StandardCharsets.US_ASCII).split("\n")[1];
    assertThat(a.toString()).doesNotContain(body);
  }

  @Test
  void publicLinesDropTheCommentAndRefuseOtherKeyTypes() {
    assertThat(SshHostKey.publicLine("ssh-ed25519 AAAAkey root@vm\n"))
        .isEqualTo("ssh-ed25519 AAAAkey");
    assertThatThrownBy(() -> SshHostKey.publicLine("ssh-rsa AAAAkey"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SshHostKey.publicLine("ssh-ed25519"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
