package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.Json;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal QMP client: one command per connection, events skipped. Netty frames the lines; the
 * whole exchange (connect, greeting, capabilities, command) has one deadline, so a QEMU that
 * accepts and never answers fails the call instead of holding the reconcile thread.
 */
final class Qmp {
  private static final int MAX_LINE = 1 << 20;
  private static final String CLOSED = "\0closed";

  private Qmp() {}

  static Map<String, Object> execute(Path socket, String command, Duration timeout)
      throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Channel ch =
        UnixSockets.connect(
            socket,
            timeout,
            new ChannelInitializer<>() {
              @Override
              protected void initChannel(Channel c) {
                c.pipeline()
                    .addLast(new LineBasedFrameDecoder(MAX_LINE))
                    .addLast(new StringDecoder(StandardCharsets.UTF_8))
                    .addLast(new StringEncoder(StandardCharsets.UTF_8))
                    .addLast(
                        new SimpleChannelInboundHandler<String>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, String line) {
                            lines.add(line);
                          }

                          @Override
                          public void channelInactive(ChannelHandlerContext ctx) {
                            lines.add(CLOSED);
                          }

                          @Override
                          public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
                            ctx.close();
                          }
                        });
              }
            });
    try {
      next(lines, deadline, command); // greeting
      send(ch, "qmp_capabilities");
      reply(lines, deadline, command);
      send(ch, command);
      return reply(lines, deadline, command);
    } finally {
      ch.close();
    }
  }

  private static void send(Channel ch, String command) {
    ch.writeAndFlush(Json.write(Map.of("execute", command)) + "\n");
  }

  private static Map<String, Object> reply(BlockingQueue<String> lines, long deadline, String cmd)
      throws IOException {
    while (true) {
      Map<String, Object> msg = Json.parseObject(next(lines, deadline, cmd));
      if (msg.containsKey("error")) {
        throw new IOException("QMP error: " + msg.get("error"));
      }
      if (msg.containsKey("return")) {
        return msg;
      }
    }
  }

  private static String next(BlockingQueue<String> lines, long deadline, String command)
      throws IOException {
    try {
      String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new SocketTimeoutException("QMP " + command + ": no answer before the deadline");
      }
      if (line == CLOSED) {
        throw new IOException("QMP connection closed");
      }
      return line;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("QMP " + command + " interrupted");
    }
  }
}
