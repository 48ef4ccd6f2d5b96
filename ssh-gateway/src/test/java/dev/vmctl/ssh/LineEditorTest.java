package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LineEditorTest {
  private static LineEditor.Step type(LineEditor editor, String keys) {
    LineEditor.Step last = null;
    for (byte b : keys.getBytes(StandardCharsets.ISO_8859_1)) {
      last = editor.feed(b & 0xff);
    }
    return last;
  }

  @Test
  void echoesAndCompletesLinesOnCrOrLf() {
    LineEditor editor = new LineEditor();
    assertThat(editor.feed('l').echo()).isEqualTo("l");
    assertThat(type(editor, "s\r").line()).isEqualTo("ls");
    assertThat(editor.feed('\n').line()).isNull(); // the LF of CR LF is not a second line
    assertThat(type(editor, "rm x\n").line()).isEqualTo("rm x");
  }

  @Test
  void backspaceCtrlCAndCtrlD() {
    LineEditor editor = new LineEditor();
    type(editor, "lsx");
    assertThat(editor.feed(0x7f).echo()).isEqualTo("\b \b");
    assertThat(type(editor, "\r").line()).isEqualTo("ls");
    type(editor, "garbage");
    assertThat(editor.feed(0x03).interrupted()).isTrue();
    assertThat(type(editor, "\r").line()).isEmpty();
    assertThat(editor.feed(0x04).endOfInput()).isTrue();
  }

  @Test
  void arrowKeysWalkTheHistory() {
    LineEditor editor = new LineEditor();
    type(editor, "ls\r");
    type(editor, "whoami\r");
    assertThat(type(editor, "\u001b[A").echo()).isEqualTo("whoami");
    assertThat(type(editor, "\u001b[A").echo()).endsWith("ls");
    assertThat(type(editor, "\u001b[B").echo()).endsWith("whoami");
    assertThat(type(editor, "\r").line()).isEqualTo("whoami");
  }

  @Test
  void controlBytesAreIgnoredAndLinesBounded() {
    LineEditor editor = new LineEditor();
    type(editor, "a\u0001\u0007b");
    assertThat(type(editor, "x".repeat(10_000) + "\r").line()).hasSize(Invocation.MAX_LINE);
  }
}
