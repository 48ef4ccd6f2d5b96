package dev.vmctl.ssh;

import java.util.List;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.helpers.AbstractFactoryManager;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * Settings that decide how fast bytes cross the gateway, for both the server (people) and the
 * client (VMs) side. MINA's chacha20-poly1305 is pure Java, while AES runs on the CPU's AES
 * instructions through the JDK; and AES-GCM needs no separate MAC pass, where AES-CTR adds an
 * HMAC-SHA2 over every packet (measured: username routing downloads at 0.62 of the OpenSSH jump
 * host with CTR, 1.09 with GCM; docs/benchmarks.md). The side that connects decides: OpenSSH lists
 * CTR before GCM, so the people-facing server offers GCM only (docs/ssh-gateway.md lists the
 * clients that lack it); towards VMs the gateway is the client and its own order puts GCM first,
 * with CTR for an image whose sshd has no GCM. A larger window keeps bulk transfers from stalling
 * on window adjustments.
 */
final class Throughput {
  static final long WINDOW = 8L * 1024 * 1024;
  static final int READ_BUFFER = 64 * 1024;
  static final int PUMP_CHUNK = 32 * 1024; // one SSH packet: OpenSSH's and MINA's maximum payload
  static final List<BuiltinCiphers> FROM_PEOPLE =
      List.of(BuiltinCiphers.aes128gcm, BuiltinCiphers.aes256gcm);
  static final List<BuiltinCiphers> TO_VMS =
      List.of(
          BuiltinCiphers.aes128gcm,
          BuiltinCiphers.aes256gcm,
          BuiltinCiphers.aes128ctr,
          BuiltinCiphers.aes192ctr,
          BuiltinCiphers.aes256ctr);

  private Throughput() {}

  static void apply(AbstractFactoryManager manager, List<BuiltinCiphers> ciphers) {
    manager.setCipherFactories(List.<NamedFactory<Cipher>>copyOf(ciphers));
    CoreModuleProperties.WINDOW_SIZE.set(manager, WINDOW);
    CoreModuleProperties.NIO2_READ_BUFFER_SIZE.set(manager, READ_BUFFER);
    // The client's pump from a routed person's input to the VM reads 1 KiB at a time by default:
    // a packet, an encryption and a write per KiB held uploads to 0.44 of the OpenSSH jump host.
    CoreModuleProperties.INPUT_STREAM_PUMP_CHUNK_SIZE.set(manager, PUMP_CHUNK);
  }
}
