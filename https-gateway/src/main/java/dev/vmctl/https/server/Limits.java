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
 * @param header a connection that has not sent a complete request head this long after opening (or
 *     after the first byte of its next request) is closed; zero: no limit
 * @param maxConnectionsPerAddress open client connections per source address, both listeners
 *     together; more are closed at once; zero: no cap
 */
public record Limits(
    Duration idle,
    Duration backendIdle,
    Duration connect,
    int maxHeaderBytes,
    int maxInitialLine,
    Duration header,
    int maxConnectionsPerAddress) {
  public static final Limits DEFAULTS =
      new Limits(
          Duration.ofSeconds(75),
          Duration.ofSeconds(60),
          Duration.ofSeconds(5),
          16384,
          8192,
          Duration.ofSeconds(10),
          256);
}
