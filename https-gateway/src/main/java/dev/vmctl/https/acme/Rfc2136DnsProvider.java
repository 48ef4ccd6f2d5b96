package dev.vmctl.https.acme;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Update;

/**
 * DNS-01 through RFC 2136 dynamic updates signed with TSIG (RFC 8945), as BIND, Knot, PowerDNS and
 * most self-hosted DNS servers accept. {@code present} adds one TXT record and {@code cleanUp}
 * deletes exactly that record, so the wildcard's and the base name's values can coexist.
 */
public final class Rfc2136DnsProvider implements DnsProvider {
  private static final long TTL_SECONDS = 60;

  private final InetSocketAddress server;
  private final Name zone;
  private final TSIG tsig;
  private final Duration timeout;

  /**
   * @param zone the zone the server is primary for (e.g. {@code example.com})
   * @param algorithm TSIG algorithm as BIND names it ({@code hmac-sha256})
   * @param secretBase64 the TSIG secret, base64 (as in BIND's {@code key} statement)
   */
  public Rfc2136DnsProvider(
      InetSocketAddress server,
      String zone,
      String keyName,
      String algorithm,
      String secretBase64,
      Duration timeout) {
    this.server = server;
    this.zone = absolute(zone, "zone");
    Name algorithmName = TSIG.algorithmToName(algorithm);
    if (algorithmName == null) {
      throw new IllegalArgumentException("unknown TSIG algorithm '" + algorithm + "'");
    }
    byte[] secret;
    try {
      secret = java.util.Base64.getDecoder().decode(secretBase64.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("TSIG secret for key " + keyName + " is not base64");
    }
    this.tsig = new TSIG(algorithmName, absolute(keyName, "TSIG key name"), secret);
    this.timeout = timeout;
  }

  @Override
  public void present(String fqdn, String value) throws DnsProviderException {
    Update update = new Update(zone);
    update.add(record(fqdn, value, TTL_SECONDS));
    send(update, "add", fqdn);
  }

  @Override
  public void cleanUp(String fqdn, String value) throws DnsProviderException {
    Update update = new Update(zone);
    update.delete(record(fqdn, value, 0));
    send(update, "delete", fqdn);
  }

  private TXTRecord record(String fqdn, String value, long ttl) throws DnsProviderException {
    Name name;
    try {
      name = Name.fromString(fqdn.endsWith(".") ? fqdn : fqdn + ".");
    } catch (TextParseException e) {
      throw new DnsProviderException("'" + fqdn + "' is not a DNS name");
    }
    if (!name.subdomain(zone)) {
      throw new DnsProviderException(fqdn + " is outside the zone " + zone);
    }
    return new TXTRecord(name, DClass.IN, ttl, value);
  }

  private void send(Update update, String action, String fqdn) throws DnsProviderException {
    SimpleResolver resolver = new SimpleResolver(server);
    resolver.setTSIGKey(tsig);
    resolver.setTimeout(timeout);
    resolver.setTCP(true); // updates are small, but TCP avoids UDP loss and spoofing
    Message response;
    try {
      response = resolver.send(update);
    } catch (IOException e) {
      throw new DnsProviderException(
          "RFC 2136 " + action + " of TXT " + fqdn + " at " + server + " failed: " + e, e);
    }
    if (response.getRcode() != Rcode.NOERROR) {
      throw new DnsProviderException(
          "RFC 2136 "
              + action
              + " of TXT "
              + fqdn
              + " refused by "
              + server
              + ": "
              + Rcode.string(response.getRcode())
              + (response.getRcode() == Rcode.NOTAUTH ? " (wrong TSIG key or zone)" : ""));
    }
  }

  private static Name absolute(String name, String what) {
    try {
      return Name.fromString(name.endsWith(".") ? name : name + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(what + " '" + name + "' is not a DNS name");
    }
  }
}
