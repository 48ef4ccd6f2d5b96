package dev.vmctl.ssh;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Text to the person's terminal. With a PTY there is no line discipline on our side, so newlines
 * become CR LF here; without one (exec, pipes) output is passed as is.
 */
public final class Console {
  private final OutputStream out;
  private final OutputStream err;
  private final boolean pty;

  public Console(OutputStream out, OutputStream err, boolean pty) {
    this.out = out;
    this.err = err;
    this.pty = pty;
  }

  public void print(String text) {
    write(out, text);
  }

  public void println(String text) {
    write(out, text + "\n");
  }

  public void error(String text) {
    write(err, text + "\n");
  }

  public boolean pty() {
    return pty;
  }

  public OutputStream rawOut() {
    return out;
  }

  private void write(OutputStream stream, String text) {
    String converted = pty ? text.replace("\r\n", "\n").replace("\n", "\r\n") : text;
    try {
      stream.write(converted.getBytes(StandardCharsets.UTF_8));
      stream.flush();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // the person went away; the caller stops
    }
  }
}
