package dev.vmctl.node.host;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A VM's serial console as its hypervisor records it (QEMU {@code -serial file:}, cloud-hypervisor
 * {@code serial: File}; both start the file anew with each hypervisor process). Read, never waited
 * on: one look at the last {@link #TAIL} bytes.
 */
public final class ConsoleLog {
  /**
   * A quiet boot prints a few KiB before sshd listens; a guest spamming its console is not read.
   */
  static final int TAIL = 256 * 1024;

  private ConsoleLog() {}

  /**
   * Whether a line of the log's tail is {@code line} (surrounding white space ignored), or ends
   * with it after a non-alphanumeric character (a prompt the guest's newline did not precede).
   */
  public static boolean containsLine(Path log, String line) {
    try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
      long length = file.length();
      long from = Math.max(0, length - TAIL);
      byte[] tail = new byte[(int) (length - from)];
      file.seek(from);
      file.readFully(tail);
      for (String l : new String(tail, StandardCharsets.UTF_8).split("\n")) {
        String stripped = l.strip();
        // After a getty's "login: " prompt if the guest's newline lost the race to it.
        if (stripped.endsWith(line)
            && (stripped.length() == line.length()
                || !Character.isLetterOrDigit(
                    stripped.charAt(stripped.length() - line.length() - 1)))) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      return false; // no log yet: the hypervisor has not opened it
    }
  }
}
