package dev.vmctl.node.hostkeys;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.util.Arrays;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.security.SecurityUtils;

/**
 * One SSH host key of a VM: Ed25519, made on the host with the JDK's generator and a {@link
 * SecureRandom}, written in the OpenSSH formats sshd reads ({@code ssh_host_ed25519_key} and its
 * {@code .pub}) by MINA SSHD's writer. {@link #toString} never shows the private key.
 */
public final class SshHostKey {
  /** The file name sshd loads (images/base sshd_config.d names only this one). */
  public static final String FILE = "ssh_host_ed25519_key";

  private final byte[] privateFile;
  private final String publicLine;

  private SshHostKey(byte[] privateFile, String publicLine) {
    this.privateFile = privateFile;
    this.publicLine = publicLine;
  }

  /** A fresh key pair. */
  public static SshHostKey generate(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    generator.initialize(255, random);
    KeyPair jdk = generator.generateKeyPair();
    byte[] seed =
        ((EdECPrivateKey) jdk.getPrivate())
            .getBytes()
            .orElseThrow(() -> new GeneralSecurityException("the Ed25519 key has no seed"));
    try {
      // MINA's OpenSSH writer takes its own EdDSA key types: the same key, from the same seed.
      PrivateKey mina = SecurityUtils.generateEDDSAPrivateKey(KeyPairProvider.SSH_ED25519, seed);
      PublicKey minaPublic = SecurityUtils.recoverEDDSAPublicKey(mina);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(
          new KeyPair(minaPublic, mina), "", null, out);
      return new SshHostKey(out.toByteArray(), PublicKeyEntry.toString(minaPublic));
    } catch (IOException e) {
      throw new GeneralSecurityException("cannot encode the key: " + e.getMessage(), e);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  /** A key read back from its two files. */
  public static SshHostKey of(byte[] privateFile, String publicFile) {
    return new SshHostKey(privateFile.clone(), publicLine(publicFile));
  }

  /** {@code ssh-ed25519 AAAA…}: the public key without comment, as published in VM status. */
  public String publicLine() {
    return publicLine;
  }

  /** The OpenSSH private key file ({@code -----BEGIN OPENSSH PRIVATE KEY-----}): never log it. */
  public byte[] privateFile() {
    return privateFile.clone();
  }

  /** The {@code .pub} file's content. */
  public byte[] publicFile() {
    return (publicLine + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** Type and key of an OpenSSH public key line, without its comment. */
  static String publicLine(String line) {
    String[] fields = line.strip().split("\\s+");
    if (fields.length < 2 || !fields[0].equals(KeyPairProvider.SSH_ED25519)) {
      throw new IllegalArgumentException("not an ssh-ed25519 public key line");
    }
    return fields[0] + " " + fields[1];
  }

  @Override
  public String toString() {
    return "SshHostKey[" + publicLine + "]";
  }
}
