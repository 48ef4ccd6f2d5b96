package dev.vmctl.agent;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The wire format: each message is a 4-byte big-endian length followed by that many bytes of UTF-8
 * JSON (one object). Frames larger than the limit are refused before any allocation.
 */
public final class Frames {
  /** The default largest frame: 1 MiB. exec output is streamed in chunks well below it. */
  public static final int DEFAULT_MAX = 1 << 20;

  private Frames() {}

  /** Thrown for a frame that cannot be accepted; the connection should be closed after it. */
  public static final class FrameException extends IOException {
    public FrameException(String message) {
      super(message);
    }
  }

  /** Reads one frame; returns null at a clean end of stream (before a length prefix). */
  public static Map<String, Object> read(InputStream in, int max) throws IOException {
    DataInputStream data = new DataInputStream(in);
    int b0 = data.read();
    if (b0 < 0) {
      return null;
    }
    int length;
    try {
      length =
          (b0 << 24)
              | (data.readUnsignedByte() << 16)
              | (data.readUnsignedByte() << 8)
              | data.readUnsignedByte();
    } catch (EOFException e) {
      throw new FrameException("truncated length prefix");
    }
    if (length < 2 || length > max) {
      throw new FrameException(
          "frame length " + Integer.toUnsignedString(length) + " outside 2.." + max);
    }
    byte[] body = new byte[length];
    try {
      data.readFully(body);
    } catch (EOFException e) {
      throw new FrameException("truncated frame: expected " + length + " bytes");
    }
    String text = new String(body, StandardCharsets.UTF_8);
    try {
      return Json.parseObject(text);
    } catch (IllegalArgumentException e) {
      throw new FrameException(e.getMessage());
    }
  }

  public static void write(OutputStream out, Map<String, ?> message) throws IOException {
    byte[] body = Json.write(message).getBytes(StandardCharsets.UTF_8);
    byte[] frame = new byte[4 + body.length];
    frame[0] = (byte) (body.length >>> 24);
    frame[1] = (byte) (body.length >>> 16);
    frame[2] = (byte) (body.length >>> 8);
    frame[3] = (byte) body.length;
    System.arraycopy(body, 0, frame, 4, body.length);
    synchronized (out) {
      out.write(frame);
      out.flush();
    }
  }
}
