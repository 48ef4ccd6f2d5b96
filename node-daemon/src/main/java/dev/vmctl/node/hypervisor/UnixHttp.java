package dev.vmctl.node.hypervisor;

import java.io.IOException;
import java.time.Duration;

/**
 * HTTP/1.1 to one server on a Unix socket, over one kept-alive connection that is reused and
 * reopened when the server closed it. Every call has a deadline: a server that accepts and never
 * answers fails the call within it, and the connection is dropped.
 */
interface UnixHttp extends AutoCloseable {
  /** Status code and body of a response; the body is "" when there was none (a 204). */
  record Response(int status, String body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  /**
   * Sends one request ({@code jsonBody} null: none) and waits for its response until {@code
   * timeout}, connecting first if needed (within the same deadline).
   *
   * @throws java.net.ConnectException when nothing listens on the socket (or it does not exist)
   * @throws java.net.SocketTimeoutException when no response came within {@code timeout}
   * @throws IOException when the connection broke before a response
   */
  Response request(String method, String path, String jsonBody, Duration timeout)
      throws IOException;

  /** Closes the connection, if one is open. */
  @Override
  void close();
}
