package dev.vmctl.https.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** The DNS names a certificate covers, and whether one of them matches an SNI name. */
public final class DnsNames {
  private static final int DNS_NAME = 2;

  private DnsNames() {}

  public static List<String> of(X509Certificate certificate) throws CertificateParsingException {
    List<String> names = new ArrayList<>();
    Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
    if (sans != null) {
      for (List<?> san : sans) {
        if (((Integer) san.get(0)) == DNS_NAME) {
          names.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
        }
      }
    }
    return names;
  }

  /** Exact match, or a {@code *.} wildcard that stands for exactly one label. */
  public static boolean matches(String pattern, String serverName) {
    if (pattern.equals(serverName)) {
      return true;
    }
    if (!pattern.startsWith("*.")) {
      return false;
    }
    String suffix = pattern.substring(1);
    return serverName.endsWith(suffix)
        && serverName.length() > suffix.length()
        && serverName.indexOf('.') == serverName.length() - suffix.length();
  }

  /** How specific a match is: exact names beat wildcards; 0 when it does not match. */
  public static int score(List<String> names, String serverName) {
    int best = 0;
    for (String name : names) {
      if (name.equals(serverName)) {
        return 2;
      }
      if (matches(name, serverName)) {
        best = 1;
      }
    }
    return best;
  }
}
