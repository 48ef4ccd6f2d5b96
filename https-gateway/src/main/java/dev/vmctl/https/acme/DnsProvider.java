package dev.vmctl.https.acme;

/**
 * Publishes the TXT records of ACME DNS-01 challenges. {@code fqdn} is the full record name with a
 * trailing dot ({@code _acme-challenge.vm.example.com.}); one name may carry several values at once
 * (a wildcard and its base name), so {@code cleanUp} removes only the given value.
 */
public interface DnsProvider {
  void present(String fqdn, String value) throws DnsProviderException;

  void cleanUp(String fqdn, String value) throws DnsProviderException;

  /** No DNS provider configured: DNS-01 (and so wildcards) cannot be issued. */
  DnsProvider NONE =
      new DnsProvider() {
        @Override
        public void present(String fqdn, String value) throws DnsProviderException {
          throw new DnsProviderException(
              "a wildcard certificate needs DNS-01, but no DNS provider is configured"
                  + " (set VMCTL_ACME_DNS_WEBHOOK_URL or VMCTL_ACME_DNS_RFC2136_SERVER)");
        }

        @Override
        public void cleanUp(String fqdn, String value) {}
      };
}
