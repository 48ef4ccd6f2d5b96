package dev.vmctl.https.server;

import java.time.Duration;

/**
 * Timeouts and size limits.
 *
 * @param idle a client connection with no traffic either way for this long is closed
 * @param backendIdle a backend exchange with no traffic either way for this long fails (504)
 * @param connect how long connecting to a VM may take (then 502)
 * @param maxHeaderBytes request header block limit (then 431)
 * @param maxInitialLine request line limit (then 414)
 */
public record Limits(
    Duration idle, Duration backendIdle, Duration connect, int maxHeaderBytes, int maxInitialLine) {
  public static final Limits DEFAULTS =
      new Limits(
          Duration.ofSeconds(75), Duration.ofSeconds(60), Duration.ofSeconds(5), 16384, 8192);
}
