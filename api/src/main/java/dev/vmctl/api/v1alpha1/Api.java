package dev.vmctl.api.v1alpha1;

/** Names shared by every resource in the API. */
public final class Api {
  public static final String GROUP = "vmctl.dev";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;

  /** {@code kubectl get vmctl} lists every vmctl resource. */
  public static final String CATEGORY = "vmctl";

  /** CEL: every entry of a key list is one OpenSSH public key line, with no options. */
  public static final String SSH_KEYS_RULE =
      "self.all(k, k.matches('^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)"
          + "|sk-ssh-ed25519@openssh[.]com|sk-ecdsa-sha2-nistp256@openssh[.]com)"
          + " AAAA[A-Za-z0-9+/]+={0,3}( [^\\r\\n]*)?$'))";

  public static final String SSH_KEYS_MESSAGE =
      "each SSH key must be one OpenSSH public key on a single line: its type, its base64"
          + " body and an optional comment, e.g. 'ssh-ed25519 AAAAC3Nza... ada@laptop'"
          + " (options such as command= are not accepted)";

  private Api() {}
}
