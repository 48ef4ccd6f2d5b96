package dev.vmctl.operator.scheduling;

import dev.vmctl.operator.model.Amounts;
import dev.vmctl.operator.model.HostLoad;
import dev.vmctl.operator.model.QuotaCheck.Usage;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * In-memory reservations: which VM holds what on which host and in which namespace. The scheduler
 * decides and reserves under this object's lock, so concurrent reconciles never overcommit; the API
 * write follows, and a failed write releases the reservation. Rebuilt from VM statuses when this
 * replica becomes leader. A stopped VM's reservation holds only its disks (it still counts as a VM
 * in its quota); hosts count how many reservations hold CPU and memory, for the per-VM overhead.
 */
public final class Ledger {

  /** One VM's reservation. */
  public record Reservation(String host, String namespace, String owner, Amounts amounts) {}

  /** A VM waiting for quota, ordered oldest first. */
  record Waiter(String created, String key) {}

  private final Map<String, Reservation> byVm = new HashMap<>();
  private final Map<String, HostLoad> byHost = new HashMap<>();
  private final Map<String, Usage> byNamespace = new HashMap<>();
  private final Map<String, Map<String, Integer>> ownersByHost = new HashMap<>();
  private final Map<String, TreeSet<Waiter>> quotaWaiters = new HashMap<>();

  public synchronized Optional<Reservation> get(String vmKey) {
    return Optional.ofNullable(byVm.get(vmKey));
  }

  /** Records or replaces a VM's reservation. */
  public synchronized void put(String vmKey, Reservation reservation) {
    remove(vmKey);
    byVm.put(vmKey, reservation);
    byHost.merge(reservation.host(), HostLoad.of(reservation.amounts()), HostLoad::plus);
    byNamespace.merge(reservation.namespace(), Usage.NONE.plus(reservation.amounts()), Ledger::sum);
    if (reservation.owner() != null) {
      ownersByHost
          .computeIfAbsent(reservation.host(), h -> new HashMap<>())
          .merge(reservation.owner(), 1, Integer::sum);
    }
    removeWaiter(reservation.namespace(), vmKey);
  }

  public synchronized Optional<Reservation> remove(String vmKey) {
    Reservation old = byVm.remove(vmKey);
    if (old == null) {
      return Optional.empty();
    }
    byHost.computeIfPresent(old.host(), (h, a) -> a.minus(HostLoad.of(old.amounts())));
    byNamespace.computeIfPresent(old.namespace(), (n, u) -> u.minus(old.amounts()));
    if (old.owner() != null) {
      Map<String, Integer> owners = ownersByHost.get(old.host());
      if (owners != null) {
        owners.computeIfPresent(old.owner(), (o, c) -> c <= 1 ? null : c - 1);
      }
    }
    return Optional.of(old);
  }

  public synchronized Map<String, HostLoad> loadByHost() {
    return Map.copyOf(byHost);
  }

  public synchronized Map<String, Map<String, Integer>> ownersByHost() {
    Map<String, Map<String, Integer>> copy = new HashMap<>();
    ownersByHost.forEach((h, m) -> copy.put(h, Map.copyOf(m)));
    return copy;
  }

  public synchronized Usage usage(String namespace) {
    return byNamespace.getOrDefault(namespace, Usage.NONE);
  }

  public synchronized int size() {
    return byVm.size();
  }

  /** Marks a VM as waiting for quota; returns the key of an older waiter it must queue behind. */
  public synchronized Optional<String> olderQuotaWaiter(
      String namespace, String created, String key) {
    TreeSet<Waiter> waiters = quotaWaiters.get(namespace);
    if (waiters == null) {
      return Optional.empty();
    }
    Waiter me = new Waiter(created, key);
    return waiters.stream().filter(w -> COMPARATOR.compare(w, me) < 0).map(Waiter::key).findFirst();
  }

  public synchronized void addQuotaWaiter(String namespace, String created, String key) {
    quotaWaiters
        .computeIfAbsent(namespace, n -> new TreeSet<>(COMPARATOR))
        .add(new Waiter(created, key));
  }

  public synchronized void removeWaiter(String namespace, String key) {
    TreeSet<Waiter> waiters = quotaWaiters.get(namespace);
    if (waiters != null) {
      waiters.removeIf(w -> w.key().equals(key));
      if (waiters.isEmpty()) {
        quotaWaiters.remove(namespace);
      }
    }
  }

  public synchronized List<String> quotaWaiters(String namespace) {
    TreeSet<Waiter> waiters = quotaWaiters.get(namespace);
    return waiters == null ? List.of() : waiters.stream().map(Waiter::key).toList();
  }

  private static final Comparator<Waiter> COMPARATOR =
      Comparator.comparing(Waiter::created).thenComparing(Waiter::key);

  private static Usage sum(Usage a, Usage b) {
    return new Usage(a.vms() + b.vms(), a.amounts().plus(b.amounts()));
  }
}
