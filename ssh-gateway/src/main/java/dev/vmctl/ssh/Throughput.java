package dev.vmctl.ssh;

import java.util.List;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.helpers.AbstractFactoryManager;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * Settings that decide how fast bytes cross the gateway, for both the server (people) and the
 * client (VMs) side. MINA's chacha20-poly1305 is pure Java, while AES runs on the CPU's AES
 * instructions through the JDK; OpenSSH picks its first cipher the server offers, so offering AES
 * only makes every session use it. A larger window keeps bulk transfers from stalling on window
 * adjustments.
 */
final class Throughput {
  static final long WINDOW = 8L * 1024 * 1024;
  static final int READ_BUFFER = 64 * 1024;

  private Throughput() {}

  static void apply(AbstractFactoryManager manager) {
    manager.setCipherFactories(
        List.of(
            BuiltinCiphers.aes128gcm,
            BuiltinCiphers.aes256gcm,
            BuiltinCiphers.aes128ctr,
            BuiltinCiphers.aes192ctr,
            BuiltinCiphers.aes256ctr));
    CoreModuleProperties.WINDOW_SIZE.set(manager, WINDOW);
    CoreModuleProperties.NIO2_READ_BUFFER_SIZE.set(manager, READ_BUFFER);
  }
}
