package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.ssh.Invocation.UsageException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InvocationTest {
  private static final Set<String> VALUES = Set.of("name", "cpus");
  private static final Set<String> SWITCHES = Set.of("json");

  @Test
  void tokenizesLikeAShell() throws Exception {
    assertThat(Invocation.tokenize("  keys add 'ssh-ed25519 AAAA me@x'  \"a b\"c "))
        .containsExactly("keys", "add", "ssh-ed25519 AAAA me@x", "a bc");
    assertThat(Invocation.tokenize("")).isEmpty();
    assertThat(Invocation.tokenize("''")).containsExactly("");
  }

  @Test
  void rejectsUnterminatedQuotesControlCharactersAndHugeLines() {
    assertThatThrownBy(() -> Invocation.tokenize("ls 'x")).hasMessageContaining("unterminated");
    assertThatThrownBy(() -> Invocation.tokenize("ls \u001b[2J")).hasMessageContaining("control");
    assertThatThrownBy(() -> Invocation.tokenize("x".repeat(5000))).hasMessageContaining("long");
  }

  @Test
  void parsesFlagsInBothFormsAndPositionals() throws Exception {
    Invocation in =
        Invocation.parse(
            "new", List.of("--name", "web", "--cpus=2", "--json", "x"), VALUES, SWITCHES);
    assertThat(in.flags())
        .containsEntry("name", "web")
        .containsEntry("cpus", "2")
        .containsEntry("json", "true");
    assertThat(in.args()).containsExactly("x");
    assertThat(in.single("VM")).isEqualTo("x");
  }

  @Test
  void rejectsUnknownFlagsMissingValuesAndValuedSwitches() {
    assertThatThrownBy(() -> Invocation.parse("ls", List.of("--colour"), VALUES, SWITCHES))
        .isInstanceOf(UsageException.class)
        .hasMessage("unknown flag --colour for ls");
    assertThatThrownBy(() -> Invocation.parse("new", List.of("--name"), VALUES, SWITCHES))
        .hasMessage("--name needs a value");
    assertThatThrownBy(
            () -> Invocation.parse("new", List.of("--name", "--cpus", "1"), VALUES, SWITCHES))
        .hasMessage("--name needs a value");
    assertThatThrownBy(() -> Invocation.parse("new", List.of("--name="), VALUES, SWITCHES))
        .hasMessage("--name needs a value");
    assertThatThrownBy(() -> Invocation.parse("ls", List.of("--json=yes"), VALUES, SWITCHES))
        .hasMessage("--json takes no value");
    assertThatThrownBy(
            () -> Invocation.parse("rm", List.of("a", "b"), VALUES, SWITCHES).single("VM name"))
        .hasMessage("rm needs exactly one VM name");
  }
}
