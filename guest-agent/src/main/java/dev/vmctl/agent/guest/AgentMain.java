package dev.vmctl.agent.guest;

import dev.vmctl.agent.Frames;
import java.nio.file.Path;

/**
 * Entry point inside the guest: {@code java -jar vmctl-guest-agent.jar [--socket PATH] [--max-frame
 * BYTES]}. Prints "listening" once the socket is bound, so start-up can be timed.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    Path socket = Path.of("/run/vmctl/agent.sock");
    int maxFrame = Frames.DEFAULT_MAX;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--socket" -> socket = Path.of(args[++i]);
        case "--max-frame" -> maxFrame = Integer.parseInt(args[++i]);
        default -> {
          System.err.println("usage: vmctl-guest-agent [--socket PATH] [--max-frame BYTES]");
          System.exit(2);
        }
      }
    }
    AgentServer server =
        new AgentServer(socket, new LinuxGuestSystem(), Path.of("/"), maxFrame, 32);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.close();
                  } catch (Exception ignored) {
                    // exiting
                  }
                }));
    System.out.println("vmctl guest agent " + Operations.VERSION + " listening on " + socket);
    Thread.currentThread().join();
  }
}
