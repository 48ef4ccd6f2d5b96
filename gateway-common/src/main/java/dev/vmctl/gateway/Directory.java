package dev.vmctl.gateway;

import dev.vmctl.api.access.Ownership;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The gateways' read-only view of Users, VirtualMachines and Shares (and, for the HTTPS gateway,
 * link-share token Secrets), kept by informers with indexes so that a login or a request never
 * costs an API call.
 */
public final class Directory implements AutoCloseable {
  private static final String BY_EMAIL = "email";
  private static final String BY_FINGERPRINT = "fingerprint";
  private static final String BY_NAMESPACE = "userNamespace";
  private static final String BY_NAME = "name";
  private static final String BY_ADDRESS = "address";
  private static final String BY_VM = "vm";
  private static final String BY_TOKEN = "token";

  private final SharedIndexInformer<User> users;
  private final SharedIndexInformer<VirtualMachine> vms;
  private final SharedIndexInformer<Share> shares;
  private final SharedIndexInformer<Secret> linkSecrets;

  private Directory(
      SharedIndexInformer<User> users,
      SharedIndexInformer<VirtualMachine> vms,
      SharedIndexInformer<Share> shares,
      SharedIndexInformer<Secret> linkSecrets) {
    this.users = users;
    this.vms = vms;
    this.shares = shares;
    this.linkSecrets = linkSecrets;
  }

  /**
   * Starts the informers and waits until their caches are filled.
   *
   * @param withLinkSecrets also watch link-share token Secrets (the HTTPS gateway needs them)
   */
  public static Directory start(KubernetesClient client, boolean withLinkSecrets, Duration wait)
      throws TimeoutException {
    SharedIndexInformer<User> users = client.resources(User.class).runnableInformer(0);
    users.addIndexers(
        Map.of(
            BY_EMAIL, u -> List.of(Access.normalise(u.getSpec().email)),
            BY_FINGERPRINT, Directory::fingerprints,
            BY_NAMESPACE, u -> List.of(namespaceOf(u))));
    SharedIndexInformer<VirtualMachine> vms =
        client.resources(VirtualMachine.class).inAnyNamespace().runnableInformer(0);
    vms.addIndexers(
        Map.of(
            BY_NAME,
            vm -> List.of(vm.getMetadata().getName()),
            BY_ADDRESS,
            vm ->
                vm.getStatus() == null || vm.getStatus().ipAddress == null
                    ? List.of()
                    : List.of(vm.getStatus().nodeName + "/" + vm.getStatus().ipAddress)));
    SharedIndexInformer<Share> shares =
        client.resources(Share.class).inAnyNamespace().runnableInformer(0);
    shares.addIndexers(
        Map.of(
            BY_VM, s -> List.of(s.getMetadata().getNamespace() + "/" + s.getSpec().vm),
            BY_EMAIL,
                s ->
                    s.getSpec().email == null
                        ? List.of()
                        : List.of(Access.normalise(s.getSpec().email))));
    SharedIndexInformer<Secret> secrets = null;
    if (withLinkSecrets) {
      secrets = client.secrets().inAnyNamespace().withLabel(Share.SHARE_LABEL).runnableInformer(0);
      secrets.addIndexers(Map.of(BY_TOKEN, Directory::token));
    }
    Directory directory = new Directory(users, vms, shares, secrets);
    try {
      for (SharedIndexInformer<?> informer : directory.informers()) {
        informer.start().toCompletableFuture().get(wait.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      directory.close();
      Thread.currentThread().interrupt();
      throw new TimeoutException("interrupted while filling the directory");
    } catch (ExecutionException | TimeoutException e) {
      directory.close();
      TimeoutException timeout =
          new TimeoutException("cannot list Users, VMs and Shares from the API server: " + e);
      timeout.initCause(e);
      throw timeout;
    }
    return directory;
  }

  private List<SharedIndexInformer<?>> informers() {
    List<SharedIndexInformer<?>> all = new ArrayList<>(List.of(users, vms, shares));
    if (linkSecrets != null) {
      all.add(linkSecrets);
    }
    return all;
  }

  public Optional<User> user(String name) {
    return Optional.ofNullable(users.getStore().getByKey(name));
  }

  public Optional<User> userByEmail(String email) {
    return unique(users.getIndexer().byIndex(BY_EMAIL, Access.normalise(email)));
  }

  /**
   * The User holding the key with this fingerprint. A key registered by two Users identifies nobody
   * (empty), so one person can never sign in as another.
   */
  public Optional<User> userByFingerprint(String fingerprint) {
    return unique(users.getIndexer().byIndex(BY_FINGERPRINT, fingerprint));
  }

  /** The namespace holding a User's VMs: status, else spec, else {@code user-<name>}. */
  public static String namespaceOf(User user) {
    if (user.getStatus() != null && user.getStatus().namespace != null) {
      return user.getStatus().namespace;
    }
    if (user.getSpec() != null && user.getSpec().namespace != null) {
      return user.getSpec().namespace;
    }
    return "user-" + user.getMetadata().getName();
  }

  /**
   * The owning User's name (Ownership): the User whose namespace holds the VM; {@code spec.owner}
   * must name that User, a VM naming anyone else has no owner. Null when there is none.
   */
  public String ownerOf(VirtualMachine vm) {
    List<User> candidates =
        vm.getSpec() != null && vm.getSpec().owner != null
            ? user(vm.getSpec().owner).stream().toList()
            : users.getIndexer().byIndex(BY_NAMESPACE, vm.getMetadata().getNamespace());
    return Ownership.ownerAmong(vm, candidates).map(u -> u.getMetadata().getName()).orElse(null);
  }

  /**
   * Whether the VM's address is its alone on its host. Identities are unique by construction (node
   * daemon claims), but a gateway must never connect one person to another's VM on the word of a
   * status: an address two VMs claim is routed to neither.
   */
  public boolean addressIsUnique(VirtualMachine vm) {
    if (vm.getStatus() == null || vm.getStatus().ipAddress == null) {
      return false;
    }
    return vms.getIndexer()
            .byIndex(BY_ADDRESS, vm.getStatus().nodeName + "/" + vm.getStatus().ipAddress)
            .size()
        == 1;
  }

  /** Every VM with this name, in any namespace, oldest first (the oldest owns the hostname). */
  public List<VirtualMachine> vmsNamed(String name) {
    return oldestFirst(vms.getIndexer().byIndex(BY_NAME, name));
  }

  public Optional<VirtualMachine> vm(String namespace, String name) {
    return Optional.ofNullable(vms.getStore().getByKey(namespace + "/" + name));
  }

  /** The VMs in a User's namespace, oldest first. */
  public List<VirtualMachine> vmsOf(User user) {
    return oldestFirst(vms.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespaceOf(user)));
  }

  /** The Shares that name this VM. */
  public List<Share> sharesOf(VirtualMachine vm) {
    return shares
        .getIndexer()
        .byIndex(BY_VM, vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName());
  }

  /** Email Shares granted to this address, in any namespace. */
  public List<Share> sharesWithEmail(String email) {
    return shares.getIndexer().byIndex(BY_EMAIL, Access.normalise(email));
  }

  /** The link Share (namespace/name) whose token Secret holds this token. */
  public Optional<String> linkShareByToken(String token) {
    if (linkSecrets == null || token == null || token.isEmpty() || token.length() > 256) {
      return Optional.empty();
    }
    return unique(linkSecrets.getIndexer().byIndex(BY_TOKEN, token))
        .map(
            s ->
                s.getMetadata().getNamespace()
                    + "/"
                    + s.getMetadata().getLabels().get(Share.SHARE_LABEL));
  }

  /** Whether a link Share's token Secret still exists (deleting it revokes the link). */
  public boolean linkActive(String namespace, String shareName) {
    return linkSecrets != null
        && linkSecrets.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespace).stream()
            .anyMatch(s -> shareName.equals(s.getMetadata().getLabels().get(Share.SHARE_LABEL)));
  }

  /** Runs {@code listener} after any change to Users, VMs or Shares (e.g. to drop a cache). */
  public void onChange(Runnable listener) {
    users.addEventHandler(new ChangeHandler<>(listener));
    vms.addEventHandler(new ChangeHandler<>(listener));
    shares.addEventHandler(new ChangeHandler<>(listener));
  }

  @Override
  public void close() {
    for (SharedIndexInformer<?> informer : informers()) {
      informer.close();
    }
  }

  private static List<String> fingerprints(User user) {
    if (user.getSpec() == null || user.getSpec().sshKeys == null) {
      return List.of();
    }
    return user.getSpec().sshKeys.stream()
        .map(SshKeys::fingerprint)
        .flatMap(Optional::stream)
        .distinct()
        .toList();
  }

  private static List<String> token(Secret secret) {
    String encoded = secret.getData() == null ? null : secret.getData().get("token");
    if (encoded == null || secret.getMetadata().getLabels().get(Share.SHARE_LABEL) == null) {
      return List.of();
    }
    try {
      return List.of(new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      return List.of();
    }
  }

  private static <T> Optional<T> unique(List<T> matches) {
    return matches.size() == 1 ? Optional.of(matches.get(0)) : Optional.empty();
  }

  private static <T extends HasMetadata> List<T> oldestFirst(List<T> items) {
    return items.stream()
        .sorted(
            Comparator.comparing((T r) -> r.getMetadata().getCreationTimestamp())
                .thenComparing(r -> r.getMetadata().getUid()))
        .toList();
  }

  /** Forwards every add, update and delete to one listener. */
  private record ChangeHandler<T>(Runnable listener)
      implements io.fabric8.kubernetes.client.informers.ResourceEventHandler<T> {
    @Override
    public void onAdd(T obj) {
      listener.run();
    }

    @Override
    public void onUpdate(T oldObj, T newObj) {
      listener.run();
    }

    @Override
    public void onDelete(T obj, boolean deletedFinalStateUnknown) {
      listener.run();
    }
  }
}
