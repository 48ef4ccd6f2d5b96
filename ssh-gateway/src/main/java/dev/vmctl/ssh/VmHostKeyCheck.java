package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.SshKeys;
import java.net.SocketAddress;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.sshd.client.keyverifier.ServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Username routing connects only to a VM that presents a host key its node daemon published in
 * {@code status.sshHostKeys}: anything else at the VM's address (another machine that took it, a
 * guest whose keys were replaced) is refused, logged, and explained to the person. The expectation
 * travels with each connection as an attribute of its connect context; a connection without one is
 * refused too.
 */
final class VmHostKeyCheck implements ServerKeyVerifier {
  private static final Logger LOG = LoggerFactory.getLogger(VmHostKeyCheck.class);

  static final AttributeRepository.AttributeKey<Expected> EXPECTED =
      new AttributeRepository.AttributeKey<>();

  /** The keys one VM must present; what it presented instead, once refused. */
  static final class Expected {
    final String vmName;
    final List<byte[]> blobs;
    volatile String refusedFingerprint;

    private Expected(String vmName, List<byte[]> blobs) {
      this.vmName = vmName;
      this.blobs = blobs;
    }

    /** The published keys of the VM (none when its node daemon published none). */
    static Expected of(VirtualMachine vm) {
      List<String> lines =
          vm.getStatus() == null || vm.getStatus().sshHostKeys == null
              ? List.of()
              : vm.getStatus().sshHostKeys;
      return new Expected(
          vm.getMetadata().getName(),
          lines.stream().map(SshKeys::blob).flatMap(Optional::stream).toList());
    }

    boolean none() {
      return blobs.isEmpty();
    }

    AttributeRepository asContext() {
      return AttributeRepository.ofKeyValuePair(EXPECTED, this);
    }
  }

  @Override
  public boolean verifyServerKey(ClientSession session, SocketAddress remote, PublicKey key) {
    AttributeRepository context = session.getConnectionContext();
    Expected expected = context == null ? null : context.getAttribute(EXPECTED);
    byte[] presented = SshKeys.blob(PublicKeyEntry.toString(key)).orElse(new byte[0]);
    if (expected != null && expected.blobs.stream().anyMatch(b -> Arrays.equals(b, presented))) {
      return true;
    }
    String fingerprint = SshKeys.fingerprintOfBlob(presented);
    if (expected != null) {
      expected.refusedFingerprint = fingerprint;
    }
    LOG.warn(
        "host key mismatch vm={} address={} presented={} expected={}",
        expected == null ? "?" : expected.vmName,
        remote,
        fingerprint,
        expected == null
            ? "nothing"
            : expected.blobs.stream().map(SshKeys::fingerprintOfBlob).toList());
    return false;
  }
}
