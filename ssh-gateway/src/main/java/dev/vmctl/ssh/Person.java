package dev.vmctl.ssh;

import org.apache.sshd.common.AttributeRepository.AttributeKey;

/**
 * Who is on the other end of an SSH session: the key they authenticated with and, once known, the
 * User it belongs to ({@code userName} is null while the key is not registered).
 */
public record Person(String userName, String keyLine, String fingerprint) {
  /** Where the authenticator leaves the Person on the session. */
  public static final AttributeKey<Person> KEY = new AttributeKey<>();

  public boolean registered() {
    return userName != null;
  }

  public Person as(String user) {
    return new Person(user, keyLine, fingerprint);
  }
}
