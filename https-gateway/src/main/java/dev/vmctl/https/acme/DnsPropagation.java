package dev.vmctl.https.acme;

import java.time.Duration;
import java.time.Instant;
import java.util.Hashtable;
import java.util.List;
import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;

/**
 * Waits until a published TXT record is visible before asking the CA to look. With resolvers
 * configured ({@code host:port}, ideally the zone's authoritative servers) it polls each until all
 * answer the value, up to {@code timeout}; without, it waits a fixed {@code delay}, the usual
 * fallback when the authoritative servers are not reachable from the cluster.
 */
public final class DnsPropagation {
  private final List<String> resolvers;
  private final Duration delay;
  private final Duration timeout;

  public DnsPropagation(List<String> resolvers, Duration delay, Duration timeout) {
    this.resolvers = List.copyOf(resolvers);
    this.delay = delay;
    this.timeout = timeout;
  }

  public void await(String fqdn, String value) throws DnsProviderException, InterruptedException {
    if (resolvers.isEmpty()) {
      Thread.sleep(delay.toMillis());
      return;
    }
    Instant deadline = Instant.now().plus(timeout);
    for (String resolver : resolvers) {
      while (!visible(resolver, fqdn, value)) {
        if (Instant.now().isAfter(deadline)) {
          throw new DnsProviderException(
              "TXT " + fqdn + " not visible at " + resolver + " after " + timeout);
        }
        Thread.sleep(500);
      }
    }
  }

  static boolean visible(String resolver, String fqdn, String value) {
    Hashtable<String, String> env = new Hashtable<>();
    env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
    env.put(Context.PROVIDER_URL, "dns://" + resolver);
    env.put("com.sun.jndi.dns.timeout.initial", "1000");
    env.put("com.sun.jndi.dns.timeout.retries", "1");
    try {
      DirContext dns = new InitialDirContext(env);
      try {
        Attribute txt = dns.getAttributes(fqdn, new String[] {"TXT"}).get("TXT");
        if (txt == null) {
          return false;
        }
        NamingEnumeration<?> values = txt.getAll();
        while (values.hasMore()) {
          if (String.valueOf(values.next()).replace("\"", "").contains(value)) {
            return true;
          }
        }
        return false;
      } finally {
        dns.close();
      }
    } catch (NamingException e) {
      return false; // NXDOMAIN or not there yet: keep polling
    }
  }
}
