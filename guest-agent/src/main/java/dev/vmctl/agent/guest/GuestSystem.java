package dev.vmctl.agent.guest;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The agent's side effects on the guest, behind one narrow interface. */
public interface GuestSystem {

  /** Output of a short system command. */
  record Result(int exitCode, String stdout, String stderr) {}

  /** Runs a system command (ip, chown, hostname, ...) to completion. */
  Result run(List<String> argv, Duration timeout) throws IOException;

  String read(Path path) throws IOException;

  /** Replaces a file atomically with the given POSIX permissions (e.g. "rw-------"). */
  void write(Path path, String content, String permissions) throws IOException;

  /** Powers the guest off, or reboots it, shortly after the reply has been sent. */
  void power(boolean reboot) throws IOException;
}
