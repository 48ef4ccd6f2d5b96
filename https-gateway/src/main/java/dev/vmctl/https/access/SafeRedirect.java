package dev.vmctl.https.access;

import dev.vmctl.https.Domain;
import java.net.URI;
import java.net.URISyntaxException;

/** Where to send the browser after login: only https URLs on the domain, never elsewhere. */
public final class SafeRedirect {
  private SafeRedirect() {}

  public static String target(String next, Domain domain) {
    if (next == null || next.isEmpty() || next.length() > 2048) {
      return domain.landingUrl();
    }
    try {
      URI uri = new URI(next);
      if (!"https".equalsIgnoreCase(uri.getScheme())
          || uri.getRawUserInfo() != null
          || !domain.covers(uri.getHost() == null ? null : uri.getHost().toLowerCase())) {
        return domain.landingUrl();
      }
      return uri.toASCIIString();
    } catch (URISyntaxException e) {
      return domain.landingUrl();
    }
  }
}
