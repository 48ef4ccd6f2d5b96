package dev.vmctl.node.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleLogTest {
  @TempDir Path dir;

  @Test
  void findsAWholeLineAndNotAPrefixOrAnotherBootsToken() throws Exception {
    Path log = dir.resolve("console.log");
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready abc")).isFalse(); // no file yet
    Files.writeString(log, "[  OK  ] Started ssh.service\r\nvmctl-ready abcd\r\n");
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready abc")).isFalse();
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready abcd")).isTrue();
    Files.writeString(log, "vmctl login: vmctl-ready efgh\r\nxvmctl-ready ijkl\n");
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready efgh")).isTrue();
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready ijkl")).isFalse();
  }

  @Test
  void onlyTheTailIsRead() throws Exception {
    Path log = dir.resolve("console.log");
    Files.writeString(log, "vmctl-ready early\n" + "x".repeat(ConsoleLog.TAIL) + "\n");
    assertThat(ConsoleLog.containsLine(log, "vmctl-ready early")).isFalse();
  }
}
