package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertificateStore;
import dev.vmctl.https.tls.CertifiedKey;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Test stand-in for the serving side (the Netty listener is another engineer's): a JDK key manager
 * that asks the {@link CertificateStore} per handshake with the SNI name, as the real one will.
 */
final class StoreKeyManager extends X509ExtendedKeyManager {
  private final CertificateStore store;
  private final Map<String, CertifiedKey> byAlias = new ConcurrentHashMap<>();
  private final AtomicLong next = new AtomicLong();

  StoreKeyManager(CertificateStore store) {
    this.store = store;
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    var session = (ExtendedSSLSession) ((SSLSocket) socket).getHandshakeSession();
    return session.getRequestedServerNames().stream()
        .filter(SNIHostName.class::isInstance)
        .map(n -> ((SNIHostName) n).getAsciiName())
        .findFirst()
        .flatMap(store::forServerName)
        .filter(k -> k.key().getAlgorithm().equals(keyType))
        .map(
            k -> {
              String alias = "a" + next.incrementAndGet();
              byAlias.put(alias, k);
              return alias;
            })
        .orElse(null);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return byAlias.get(alias).chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return byAlias.get(alias).key();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    throw new UnsupportedOperationException("the test serves with SSLSocket");
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return null;
  }
}
