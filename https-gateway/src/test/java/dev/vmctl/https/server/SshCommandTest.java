package dev.vmctl.https.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SshCommandTest {
  @Test
  void theGatewayAddressBecomesACommandLine() {
    assertThat(SshCommand.of("localhost:2222", "login")).isEqualTo("ssh -p 2222 localhost login");
    assertThat(SshCommand.of("ssh.vm.example.com", "login"))
        .isEqualTo("ssh ssh.vm.example.com login");
    assertThat(SshCommand.of("10.96.0.22:22", "login")).isEqualTo("ssh 10.96.0.22 login");
    assertThat(SshCommand.of("[::1]:2222", "login")).isEqualTo("ssh -p 2222 ::1 login");
    assertThat(SshCommand.of("::1", "login")).isEqualTo("ssh ::1 login");
  }
}
