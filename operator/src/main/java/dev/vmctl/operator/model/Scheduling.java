package dev.vmctl.operator.model;

import dev.vmctl.api.access.Ownership;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Phases;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.status.VmStatuses;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Pure: what to do with a VM that has no host yet, and the status that says so. The reconciler
 * measures (caches, the ledger under its lock), calls {@link #decide}, reserves on {@link Place},
 * queues on {@link Pending#queueForQuota}, and writes {@link #status} once.
 *
 * <p>The checks run in this order, and the first that holds decides: the User is disabled, {@code
 * spec.owner} is not the namespace's User, a Quota is full or an older VM of the namespace waits
 * for quota, no host fits. Otherwise the VM is placed on the best host.
 */
public final class Scheduling {
  private Scheduling() {}

  /**
   * Everything one decision reads, measured before deciding.
   *
   * @param vm the VM to schedule (no {@code status.nodeName})
   * @param users the Users that concern it: the one its namespace belongs to and the one {@code
   *     spec.owner} names (either may be missing)
   * @param quotas the Quotas of its namespace
   * @param usage what the namespace's admitted VMs reserve (ledger)
   * @param olderQuotaWaiter an older VM of the same namespace already waiting for quota (its
   *     namespace/name), which goes first
   * @param imageFetchable an Image of the VM's image name exists, so any host can fetch it
   * @param cluster hosts and their reservations (ledger), the time and the heartbeat grace
   * @param strategy pack or spread
   */
  public record Inputs(
      VirtualMachine vm,
      List<User> users,
      List<Quota> quotas,
      QuotaCheck.Usage usage,
      Optional<String> olderQuotaWaiter,
      boolean imageFetchable,
      Placement.Cluster cluster,
      Strategy strategy) {}

  /** The decision for one VM. */
  public sealed interface Decision permits Place, Pending {
    /** The condition reason. */
    String reason();

    /** The condition message: a sentence for people. */
    String message();
  }

  /** Place the VM on {@code host}, reserving {@code allocation} there and in its namespace. */
  public record Place(String host, Amounts allocation) implements Decision {
    @Override
    public String reason() {
      return Reasons.SCHEDULED;
    }

    @Override
    public String message() {
      return "Placed on host " + host + ".";
    }
  }

  /**
   * Leave the VM Pending.
   *
   * @param queueForQuota the VM joins its namespace's quota queue (oldest first), so a younger VM
   *     does not take the room it waits for
   */
  public record Pending(String reason, String message, boolean queueForQuota) implements Decision {}

  public static Decision decide(Inputs in) {
    VirtualMachine vm = in.vm();
    String namespace = vm.getMetadata().getNamespace();
    String owner = vm.getSpec().owner;
    Optional<User> disabled =
        in.users().stream()
            .filter(
                u ->
                    (owner != null && owner.equals(u.getMetadata().getName()))
                        || (u.getStatus() != null && namespace.equals(u.getStatus().namespace)))
            .filter(u -> u.getSpec() != null && Boolean.TRUE.equals(u.getSpec().disabled))
            .findFirst();
    if (disabled.isPresent()) {
      return new Pending(
          Reasons.USER_DISABLED,
          "User "
              + disabled.get().getMetadata().getName()
              + " is disabled; new VMs are not scheduled.",
          false);
    }
    Optional<User> named =
        owner == null
            ? Optional.empty()
            : in.users().stream().filter(u -> owner.equals(u.getMetadata().getName())).findFirst();
    Optional<String> ownerProblem = Ownership.problem(vm, named);
    if (ownerProblem.isPresent()) {
      return new Pending(Reasons.OWNER_MISMATCH, ownerProblem.get(), false);
    }
    Amounts demand = Demand.of(vm.getSpec());
    Optional<String> exceeded = QuotaCheck.exceeded(in.quotas(), in.usage(), demand);
    if (exceeded.isPresent()) {
      return new Pending(Reasons.QUOTA_EXCEEDED, exceeded.get(), true);
    }
    if (in.olderQuotaWaiter().isPresent()) {
      String older = in.olderQuotaWaiter().get();
      return new Pending(
          Reasons.QUOTA_EXCEEDED,
          "waiting for quota behind the older VM " + older.substring(older.indexOf('/') + 1),
          true);
    }
    String image = vm.getSpec().image == null ? "debian-12" : vm.getSpec().image;
    Placement.Decision placement =
        Placement.decide(
            new Placement.Request(
                demand, vm.getSpec().nodeSelector, image, in.imageFetchable(), owner),
            in.cluster(),
            in.strategy());
    if (placement.placed()) {
      return new Place(placement.host().get(), demand);
    }
    return new Pending(Reasons.UNSCHEDULABLE, "No host fits: " + placement.message() + ".", false);
  }

  /**
   * The VM's status after the decision: placed (host, allocation, Scheduled=True, the ssh command
   * and URL) or Pending with Scheduled=False. Unchanged parts keep their times.
   */
  public static VirtualMachineStatus status(
      VirtualMachine vm, Decision decision, String sshGateway, String domain, Instant now) {
    VirtualMachineStatus status = VmStatuses.copy(vm.getStatus());
    Long generation = vm.getMetadata().getGeneration();
    status.observedGeneration = generation;
    boolean placed = decision instanceof Place;
    if (decision instanceof Place place) {
      status.nodeName = place.host();
      status.allocated = Demand.toResource(place.allocation());
      status.sshCommand = sshCommand(sshGateway, vm.getMetadata().getName());
      status.url = "https://" + vm.getMetadata().getName() + "." + domain + "/";
    }
    Phases.set(status, placed ? VmPhase.Scheduled : VmPhase.Pending, now);
    status.conditions =
        Conditions.set(
            status.conditions,
            ConditionTypes.SCHEDULED,
            placed,
            decision.reason(),
            decision.message(),
            generation,
            now);
    return status;
  }

  /**
   * Whether the decision says something the VM's Scheduled condition does not say yet (a new reason
   * or message): only then is there an Event to record.
   */
  public static boolean news(VirtualMachine vm, Decision decision) {
    return !Conditions.find(
            vm.getStatus() == null ? null : vm.getStatus().conditions, ConditionTypes.SCHEDULED)
        .map(
            c ->
                decision.reason().equals(c.getReason())
                    && decision.message().equals(c.getMessage()))
        .orElse(false);
  }

  /**
   * The command a person types to reach the VM: ProxyJump through the gateway (which identifies
   * people by key, whatever user name they give it) to the guest's {@code vmctl} user, exactly as
   * docs/getting-started.md shows it.
   */
  public static String sshCommand(String gateway, String vm) {
    return "ssh -J " + gateway + " vmctl@" + vm;
  }
}
