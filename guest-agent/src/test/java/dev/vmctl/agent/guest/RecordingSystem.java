package dev.vmctl.agent.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A guest stand-in for tests on the host: system commands (ip, hostname, chown) are recorded, not
 * run, so the host's own networking is never touched; files go to a temporary root.
 */
final class RecordingSystem implements GuestSystem {
  final List<List<String>> commands = new CopyOnWriteArrayList<>();
  volatile int exitCode = 0;
  volatile Boolean powered;

  /** What {@code ip -o -4 addr show} prints, as if the interface had these addresses. */
  volatile String addrShow = "";

  @Override
  public Result run(List<String> argv, Duration timeout) {
    commands.add(argv);
    if (argv.size() > 3 && argv.subList(0, 4).equals(List.of("ip", "-o", "-4", "addr"))) {
      return new Result(0, addrShow, "");
    }
    return new Result(exitCode, "", exitCode == 0 ? "" : "RTNETLINK answers: File exists");
  }

  @Override
  public String read(Path path) throws IOException {
    return Files.readString(path);
  }

  @Override
  public void write(Path path, String content, String permissions) throws IOException {
    new LinuxGuestSystem().write(path, content, permissions);
  }

  @Override
  public void power(boolean reboot) {
    powered = reboot;
  }
}
