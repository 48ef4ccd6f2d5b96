package dev.vmctl.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * Streams over a blocking socket channel that allow one thread to read while another writes. {@code
 * java.nio.channels.Channels.newInputStream/newOutputStream} take the channel's blocking lock for
 * every call, so a reader blocked in read() stops all writers: a deadlock for a full-duplex
 * protocol with a reader thread. These call read/write directly.
 */
public final class ChannelStreams {
  private ChannelStreams() {}

  public static InputStream in(ByteChannel channel) {
    return new InputStream() {
      private final ByteBuffer one = ByteBuffer.allocate(1);

      @Override
      public int read() throws IOException {
        one.clear();
        int n;
        do {
          n = channel.read(one);
        } while (n == 0);
        return n < 0 ? -1 : one.get(0) & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        int n;
        do {
          n = channel.read(ByteBuffer.wrap(b, off, len));
        } while (n == 0);
        return n;
      }
    };
  }

  public static OutputStream out(ByteChannel channel) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      }
    };
  }
}
