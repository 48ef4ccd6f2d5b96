package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Directory;
import dev.vmctl.gateway.SignedTokens;
import dev.vmctl.gateway.SshKeys;
import dev.vmctl.ssh.Invocation.UsageException;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * register, whoami, keys, login. Users are cluster-scoped and a person's role cannot write them, so
 * these write with the gateway's own identity, after checking that the change concerns the caller.
 */
final class AccountCommands {
  private static final String EMAIL = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";
  static final Duration LOGIN_TTL = Duration.ofMinutes(5);

  private final GatewayContext context;

  AccountCommands(GatewayContext context) {
    this.context = context;
  }

  void register(Invocation in, Caller caller, Console console)
      throws UsageException, CommandFailed {
    String email = in.single("email address").trim();
    if (!email.matches(EMAIL) || email.length() > 254) {
      throw new UsageException("not an email address: " + Commands.clip(email));
    }
    Person person = caller.person();
    if (person.registered()) {
      throw new CommandFailed("this key is already registered as " + person.userName());
    }
    if (ownerOfKey(person.fingerprint(), null).isPresent()) {
      throw new CommandFailed("this key is already registered; it cannot open another account");
    }
    Directory directory = context.directory();
    if (directory.userByEmail(email).isPresent()) {
      throw new CommandFailed(
          "an account with this email exists; sign in with one of its keys and run: keys add");
    }
    String name = create(email, person.keyLine());
    Instant deadline = context.clock().instant().plusSeconds(10);
    while (directory.user(name).isEmpty() && context.clock().instant().isBefore(deadline)) {
      pause();
    }
    caller.become(name);
    console.println("welcome, " + name + "! your account is ready; try: new");
  }

  private String create(String email, String keyLine) throws CommandFailed {
    for (int attempt = 0; attempt < 5; attempt++) {
      String name = Names.userNameFor(email, taken());
      User user = new User();
      user.setMetadata(new ObjectMetaBuilder().withName(name).build());
      user.setSpec(new User.Spec());
      user.getSpec().email = email;
      user.getSpec().sshKeys = List.of(keyLine);
      try {
        context.gatewayClient().resource(user).create();
        return name;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
    }
    throw new CommandFailed("could not pick a free account name; try again");
  }

  /**
   * Names a new User must not get because something already exists under them: registration never
   * adopts objects it did not create. Taken are a User of that name, a User whose namespace is
   * {@code user-<name>}, an existing namespace {@code user-<name>} (with whatever is in it: VMs,
   * Quota, RoleBindings), and a VM anywhere whose {@code spec.owner} is the name. Asked of the API
   * server, not the informers, so nothing created a moment ago is missed.
   */
  private Predicate<String> taken() {
    KubernetesClient api = context.gatewayClient();
    List<User> users = api.resources(User.class).list().getItems();
    Set<String> claimed = new HashSet<>();
    for (User u : users) {
      claimed.add(u.getMetadata().getName());
      claimed.add(namespaceOwnerName(Directory.namespaceOf(u)));
    }
    Set<String> owners =
        api.resources(VirtualMachine.class).inAnyNamespace().list().getItems().stream()
            .filter(vm -> vm.getSpec() != null && vm.getSpec().owner != null)
            .map(vm -> vm.getSpec().owner)
            .collect(Collectors.toSet());
    return name ->
        claimed.contains(name)
            || owners.contains(name)
            || context.directory().user(name).isPresent()
            || api.namespaces().withName("user-" + name).get() != null;
  }

  /** {@code user-ada} → {@code ada}; another namespace claims no name. */
  private static String namespaceOwnerName(String namespace) {
    return namespace.startsWith("user-") ? namespace.substring("user-".length()) : "";
  }

  void whoami(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (!in.args().isEmpty()) {
      throw new UsageException("whoami takes no arguments");
    }
    User user = caller.user();
    console.println("user:      " + user.getMetadata().getName());
    console.println("email:     " + user.getSpec().email);
    console.println("namespace: " + Directory.namespaceOf(user));
    console.println("key:       " + caller.person().fingerprint());
    int keys = user.getSpec().sshKeys == null ? 0 : user.getSpec().sshKeys.size();
    console.println("keys:      " + keys);
  }

  void keys(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (in.args().isEmpty()) {
      throw new UsageException("keys needs add, ls or rm");
    }
    User user = caller.user();
    List<String> rest = in.args().subList(1, in.args().size());
    switch (in.args().get(0)) {
      case "ls" -> listKeys(user, caller, console, rest);
      case "add" -> addKey(user, String.join(" ", rest), console);
      case "rm" -> removeKey(user, rest, caller, console);
      default ->
          throw new UsageException("unknown keys action: " + Commands.clip(in.args().get(0)));
    }
  }

  private void listKeys(User user, Caller caller, Console console, List<String> rest)
      throws UsageException {
    if (!rest.isEmpty()) {
      throw new UsageException("keys ls takes no arguments");
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String line : keysOf(user)) {
      String[] parts = line.trim().split("\\s+", 3);
      Map<String, Object> row = new LinkedHashMap<>();
      String fingerprint = SshKeys.fingerprint(line).orElse("(unreadable)");
      row.put("fingerprint", fingerprint);
      row.put("type", parts[0]);
      row.put("comment", parts.length > 2 ? parts[2] : null);
      row.put("this", fingerprint.equals(caller.person().fingerprint()) ? "*" : null);
      rows.add(row);
    }
    console.print(Table.render(List.of("fingerprint", "type", "comment", "this"), rows));
  }

  private void addKey(User user, String line, Console console)
      throws UsageException, CommandFailed {
    String fingerprint =
        SshKeys.fingerprint(line)
            .orElseThrow(
                () -> new UsageException("not an OpenSSH public key (ssh-ed25519 AAAA...)"));
    String name = user.getMetadata().getName();
    Optional<String> holder = ownerOfKey(fingerprint, name);
    if (holder.isPresent()) {
      throw new CommandFailed("this key belongs to another account");
    }
    if (keysOf(user).stream()
        .anyMatch(k -> SshKeys.fingerprint(k).orElse("").equals(fingerprint))) {
      console.println("already there: " + fingerprint);
      return;
    }
    editUser(
        name,
        u -> {
          List<String> keys = new ArrayList<>(keysOf(u));
          keys.add(line.trim());
          u.getSpec().sshKeys = keys;
        });
    console.println("added " + fingerprint);
  }

  private void removeKey(User user, List<String> rest, Caller caller, Console console)
      throws UsageException, CommandFailed {
    if (rest.size() != 1) {
      throw new UsageException("keys rm needs a fingerprint (see: keys ls)");
    }
    String fingerprint = rest.get(0);
    List<String> keys = keysOf(user);
    List<String> kept =
        keys.stream().filter(k -> !SshKeys.fingerprint(k).orElse("").equals(fingerprint)).toList();
    if (kept.size() == keys.size()) {
      throw new CommandFailed("no key with fingerprint " + Commands.clip(fingerprint));
    }
    if (kept.isEmpty()) {
      throw new CommandFailed("that is your last key; add another first");
    }
    editUser(user.getMetadata().getName(), u -> u.getSpec().sshKeys = new ArrayList<>(kept));
    console.println("removed " + fingerprint);
  }

  void login(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (!in.args().isEmpty()) {
      throw new UsageException("login takes no arguments");
    }
    User user = caller.user();
    String token =
        context.tokens().issue(SignedTokens.Purpose.LOGIN, user.getMetadata().getName(), LOGIN_TTL);
    console.println("open within 5 minutes (works once):");
    console.println("  https://" + context.config().domain() + "/__vmctl/login/" + token);
  }

  /** The User (other than {@code except}) holding this key, asked of the API server directly. */
  private Optional<String> ownerOfKey(String fingerprint, String except) {
    return context.gatewayClient().resources(User.class).list().getItems().stream()
        .filter(u -> !u.getMetadata().getName().equals(except))
        .filter(
            u ->
                keysOf(u).stream()
                    .anyMatch(k -> SshKeys.fingerprint(k).orElse("").equals(fingerprint)))
        .map(u -> u.getMetadata().getName())
        .findFirst();
  }

  private void editUser(String name, java.util.function.Consumer<User> change) {
    dev.vmctl.api.kube.Edits.edit(
        context.gatewayClient().resources(User.class).withName(name),
        u -> {
          change.accept(u);
          return u;
        });
  }

  private static List<String> keysOf(User user) {
    return user.getSpec() == null || user.getSpec().sshKeys == null
        ? List.of()
        : user.getSpec().sshKeys;
  }

  private void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
