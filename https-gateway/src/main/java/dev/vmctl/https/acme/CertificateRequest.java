package dev.vmctl.https.acme;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One certificate the gateway keeps: {@code name} picks its Secret ({@code vmctl-tls-<name>}),
 * {@code domains} are its DNS names. A wildcard among them means DNS-01 for the whole order (the
 * only challenge a wildcard allows); otherwise HTTP-01.
 */
public record CertificateRequest(String name, List<String> domains) {
  public CertificateRequest {
    if (!name.matches("[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?")) {
      throw new IllegalArgumentException(
          "certificate name '" + name + "' must be a short DNS label (a-z, 0-9, '-')");
    }
    if (domains.isEmpty()) {
      throw new IllegalArgumentException("certificate '" + name + "' has no domains");
    }
    domains = domains.stream().map(d -> d.trim().toLowerCase(Locale.ROOT)).toList();
    for (String d : domains) {
      if (!d.matches("(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9-]+")) {
        throw new IllegalArgumentException("'" + d + "' is not a DNS name for certificate " + name);
      }
    }
  }

  public boolean needsDns01() {
    return domains.stream().anyMatch(d -> d.startsWith("*."));
  }

  public String secretName() {
    return "vmctl-tls-" + name;
  }

  /** The default for a gateway domain: one wildcard certificate {@code *.<domain>, <domain>}. */
  public static CertificateRequest wildcard(String domain) {
    return new CertificateRequest("wildcard", List.of("*." + domain, domain));
  }

  /**
   * Parses {@code VMCTL_ACME_CERTIFICATES}: {@code name=dns1,dns2;name2=dns3}. Blank entries are
   * ignored; a malformed one is an error that names it.
   */
  public static List<CertificateRequest> parseList(String spec) {
    List<CertificateRequest> requests = new ArrayList<>();
    for (String entry : spec.split(";")) {
      if (entry.isBlank()) {
        continue;
      }
      int eq = entry.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(
            "VMCTL_ACME_CERTIFICATES entry '" + entry.trim() + "' is not name=dns1,dns2");
      }
      List<String> domains =
          List.of(entry.substring(eq + 1).split(",")).stream().filter(s -> !s.isBlank()).toList();
      requests.add(new CertificateRequest(entry.substring(0, eq).trim(), domains));
    }
    if (requests.stream().map(CertificateRequest::name).distinct().count() != requests.size()) {
      throw new IllegalArgumentException("VMCTL_ACME_CERTIFICATES names a certificate twice");
    }
    return List.copyOf(requests);
  }
}
