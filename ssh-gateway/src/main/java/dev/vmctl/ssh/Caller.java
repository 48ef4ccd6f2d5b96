package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.gateway.Directory;

/** The person a command runs for, updated in place when they register mid-session. */
public final class Caller {
  private volatile Person person;
  private final Directory directory;

  public Caller(Person person, Directory directory) {
    this.person = person;
    this.directory = directory;
  }

  public Person person() {
    return person;
  }

  public void become(String userName) {
    person = person.as(userName);
  }

  /** The registered User, or a failure telling an unregistered person how to register. */
  public User user() throws CommandFailed {
    if (!person.registered()) {
      throw new CommandFailed("this key is not registered yet; run: register <your email>");
    }
    return directory
        .user(person.userName())
        .orElseThrow(() -> new CommandFailed("your account no longer exists"));
  }
}
