package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.gateway.Directory;
import java.util.function.Consumer;

/** The person a command runs for, updated in place when they register mid-session. */
public final class Caller {
  private volatile Person person;
  private final Directory directory;
  private final Consumer<Person> onRegistered;

  public Caller(Person person, Directory directory) {
    this(person, directory, p -> {});
  }

  /**
   * @param onRegistered told the new Person after {@link #become} (the session keeps it, so that
   *     its sign-in is re-checked from then on)
   */
  public Caller(Person person, Directory directory, Consumer<Person> onRegistered) {
    this(person, directory, onRegistered, null);
  }

  /**
   * @param loginName the SSH login name the session used (a VM name for username routing; here,
   *     where the session reached the gateway itself, a name that routed nowhere), or null
   */
  public Caller(
      Person person, Directory directory, Consumer<Person> onRegistered, String loginName) {
    this.person = person;
    this.directory = directory;
    this.onRegistered = onRegistered;
    this.loginName = loginName;
  }

  private final String loginName;

  /**
   * The VM the login name asked for when it routed nowhere: a DNS label that is not the person's
   * own user name (OpenSSH sends the local account's name when none is given, so a plain name may
   * not be meant as a VM at all; the message says both).
   */
  public java.util.Optional<String> unreachableVm(String domain) {
    if (loginName == null) {
      return java.util.Optional.empty();
    }
    String vm = VmTarget.vmName(loginName, domain);
    if (!Names.isDnsLabel(vm) || vm.equals(person.userName())) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(vm);
  }

  public Person person() {
    return person;
  }

  public void become(String userName) {
    person = person.as(userName);
    onRegistered.accept(person);
  }

  /** The registered User, or a failure telling an unregistered person how to register. */
  public User user() throws CommandFailed {
    if (!person.registered()) {
      throw new CommandFailed("this key is not registered yet; run: register <your email>");
    }
    String withdrawn = Authorisation.personWithdrawn(directory, person);
    if (withdrawn != null) {
      throw new CommandFailed(withdrawn);
    }
    return directory.user(person.userName()).orElseThrow();
  }
}
