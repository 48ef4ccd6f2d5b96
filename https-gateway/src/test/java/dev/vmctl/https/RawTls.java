package dev.vmctl.https;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/** A TLS socket to the gateway with a chosen SNI name, for hand-written (and hostile) requests. */
final class RawTls implements AutoCloseable {
  final SSLSocket socket;

  RawTls(Path caCert, int port, String sni) throws Exception {
    this(caCert, port, sni, null);
  }

  /**
   * @param from the local address to connect from (e.g. {@code 127.0.0.5}: the gateway counts
   *     connections per source address), or null for any
   */
  RawTls(Path caCert, int port, String sni, String from) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caCert)) {
      trust.setCertificateEntry(
          "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    socket = (SSLSocket) context.getSocketFactory().createSocket();
    SSLParameters params = socket.getSSLParameters();
    params.setServerNames(List.of(new SNIHostName(sni)));
    params.setApplicationProtocols(new String[] {"http/1.1"});
    socket.setSSLParameters(params);
    if (from != null) {
      socket.bind(new InetSocketAddress(from, 0));
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
  }

  void send(String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
  }

  void sendBytes(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
  }

  /** Reads until the peer closes or nothing arrives for {@code quietMillis}. */
  String readAll(int quietMillis) throws IOException {
    socket.setSoTimeout(quietMillis);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = socket.getInputStream().read(buf)) > 0) {
        out.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      // quiet: return what arrived
    } catch (IOException e) {
      // reset after a close is the same as a close here
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** What arrived, and whether the peer closed (rather than going quiet). */
  record Answer(String text, boolean closed) {}

  /** Reads until the peer closes or nothing arrives for {@code quietMillis}. */
  Answer readAnswer(int quietMillis) throws IOException {
    socket.setSoTimeout(quietMillis);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    boolean closed;
    try {
      int n;
      while ((n = socket.getInputStream().read(buf)) > 0) {
        out.write(buf, 0, n);
      }
      closed = true;
    } catch (SocketTimeoutException e) {
      closed = false;
    } catch (IOException e) {
      closed = true; // reset after a close
    }
    return new Answer(out.toString(StandardCharsets.ISO_8859_1), closed);
  }

  /** Reads one HTTP response head (up to the blank line). */
  String readHead() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    while (!out.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      out.write(b);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** Whether the peer closes within 5 s (a reset counts; still open after 5 s does not). */
  boolean closedByPeer() throws IOException {
    socket.setSoTimeout(5000);
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
