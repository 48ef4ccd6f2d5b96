package dev.vmctl.https.access;

import dev.vmctl.api.v1alpha1.User;
import java.util.Map;

/**
 * Who is asking: the signed-in User (or null) and the link-share tokens the browser holds.
 *
 * @param user a usable signed-in User, or null for an anonymous visitor
 * @param linkToken the {@code vmctl_link} cookie's token, or null
 */
public record Visitor(User user, String linkToken) {
  public static final Visitor ANONYMOUS = new Visitor(null, null);

  public boolean signedIn() {
    return user != null;
  }

  public String name() {
    return user == null ? null : user.getMetadata().getName();
  }

  public String email() {
    return user == null ? null : user.getSpec().email;
  }

  static String cookie(Map<String, String> cookies, String name) {
    String value = cookies.get(name);
    return value == null || value.isEmpty() ? null : value;
  }
}
