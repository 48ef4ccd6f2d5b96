package dev.vmctl.https.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.Mapping;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * Maps an SNI name to a Netty {@link SslContext} (ALPN h2 + http/1.1) built from whatever the
 * {@link CertificateStore} returns. Contexts are cached per certificate, so a renewed certificate
 * gets a new context on the next handshake and unchanged ones cost nothing.
 */
public final class SniContexts implements Mapping<String, SslContext> {
  private final CertificateStore store;
  private final String defaultName;
  private final Map<CertifiedKey, SslContext> contexts = new ConcurrentHashMap<>();

  /**
   * @param defaultName the name to use when a client sends no SNI (e.g. the bare domain)
   */
  public SniContexts(CertificateStore store, String defaultName) {
    this.store = store;
    this.defaultName = defaultName;
  }

  /**
   * The context for {@code serverName}. Clients without SNI, or with a name no certificate covers
   * (an IP address, a stray name), get the default name's certificate, as most servers do; the Host
   * check then answers 404. Throws (the handshake fails) when there is no certificate at all.
   */
  @Override
  public SslContext map(String serverName) {
    String name = serverName == null ? defaultName : serverName.toLowerCase(Locale.ROOT);
    Optional<CertifiedKey> key =
        store.forServerName(name).or(() -> store.forServerName(defaultName));
    if (key.isEmpty()) {
      throw new IllegalStateException("no certificate for " + name);
    }
    if (contexts.size() > 64) {
      contexts.clear(); // renewed certificates leave old entries behind; start over now and then
    }
    return contexts.computeIfAbsent(key.get(), SniContexts::build);
  }

  /** BoringSSL (netty-tcnative) when its native library loads, else the JDK's TLS engine. */
  public static SslProvider provider() {
    return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  private static SslContext build(CertifiedKey key) {
    try {
      return SslContextBuilder.forServer(key.key(), key.chain().toArray(new X509Certificate[0]))
          .sslProvider(provider())
          .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
          .applicationProtocolConfig(
              new ApplicationProtocolConfig(
                  ApplicationProtocolConfig.Protocol.ALPN,
                  ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                  ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                  ApplicationProtocolNames.HTTP_2,
                  ApplicationProtocolNames.HTTP_1_1))
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build a TLS context: " + e.getMessage(), e);
    }
  }
}
