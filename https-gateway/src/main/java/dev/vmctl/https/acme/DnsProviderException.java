package dev.vmctl.https.acme;

/** A DNS provider could not publish or remove a challenge record. */
public class DnsProviderException extends Exception {
  public DnsProviderException(String message) {
    super(message);
  }

  public DnsProviderException(String message, Throwable cause) {
    super(message, cause);
  }
}
