package dev.vmctl.ssh;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny line editor for the interactive shell: echo, backspace, Ctrl-C, Ctrl-D, and history on the
 * arrow keys. Pure: bytes in, what to echo and what was entered out.
 */
public final class LineEditor {
  /** What one byte of input produced. */
  public record Step(String echo, String line, boolean interrupted, boolean endOfInput) {
    static Step echo(String text) {
      return new Step(text, null, false, false);
    }
  }

  static final int MAX_HISTORY = 100;

  private final StringBuilder buffer = new StringBuilder();
  private final List<String> history = new ArrayList<>();
  private int historyIndex;
  private int escape; // 0 none, 1 after ESC, 2 after ESC [
  private boolean lastWasCr;

  public Step feed(int b) {
    if (escape == 1) {
      escape = b == '[' || b == 'O' ? 2 : 0;
      return Step.echo("");
    }
    if (escape == 2) {
      escape = 0;
      if (b == 'A') {
        return recall(historyIndex - 1);
      }
      if (b == 'B') {
        return recall(historyIndex + 1);
      }
      return Step.echo("");
    }
    boolean wasCr = lastWasCr;
    lastWasCr = b == '\r';
    switch (b) {
      case '\r', '\n' -> {
        if (b == '\n' && wasCr) {
          return Step.echo("");
        }
        String line =
            new String(
                buffer.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        buffer.setLength(0);
        if (!line.isBlank()
            && (history.isEmpty() || !history.get(history.size() - 1).equals(line))) {
          history.add(line);
          if (history.size() > MAX_HISTORY) {
            history.remove(0);
          }
        }
        historyIndex = history.size();
        return new Step("\r\n", line, false, false);
      }
      case 0x7f, 0x08 -> {
        if (buffer.length() == 0) {
          return Step.echo("");
        }
        buffer.setLength(buffer.length() - 1);
        return Step.echo("\b \b");
      }
      case 0x03 -> {
        buffer.setLength(0);
        historyIndex = history.size();
        return new Step("^C\r\n", null, true, false);
      }
      case 0x04 -> {
        return buffer.length() == 0 ? new Step("\r\n", null, false, true) : Step.echo("");
      }
      case 0x1b -> {
        escape = 1;
        return Step.echo("");
      }
      default -> {
        if (b < 0x20 || buffer.length() >= Invocation.MAX_LINE) {
          return Step.echo("");
        }
        buffer.append((char) b);
        return Step.echo(b < 0x80 ? String.valueOf((char) b) : "");
      }
    }
  }

  private Step recall(int index) {
    if (index < 0 || index > history.size()) {
      return Step.echo("");
    }
    historyIndex = index;
    String erase = "\b \b".repeat(buffer.length());
    buffer.setLength(0);
    if (index < history.size()) {
      buffer.append(
          new String(
              history.get(index).getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
    }
    return Step.echo(erase + (index < history.size() ? history.get(index) : ""));
  }
}
