package dev.vmctl.ssh;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VmPhase;
import java.time.Instant;
import java.util.Locale;

/**
 * Which VM a proxied connection goes to, decided the same way for both proxy modes: the person must
 * own it or have an email Share, and it must be Running with an address.
 */
final class VmTarget {
  /** Where to connect and the VM granted, or why not (a sentence for the person). */
  record Decision(
      String address, String vmName, String refusal, boolean notRunning, VirtualMachine vm) {
    Decision(String address, String vmName, String refusal) {
      this(address, vmName, refusal, false, null);
    }

    /** What {@link Revocations} re-checks while the connection is open. */
    Authorisation.VmGrant grant() {
      return Authorisation.VmGrant.of(vm);
    }

    boolean allowed() {
      return refusal == null;
    }
  }

  private VmTarget() {}

  /**
   * @param requested what the client asked for: {@code vm}, or {@code vm.<domain host>}
   */
  static Decision decide(GatewayContext context, Person person, String requested, Instant now) {
    if (person == null || !person.registered()) {
      return new Decision(null, null, "register first: ssh " + context.jumpHost() + " register");
    }
    String name = vmName(requested, context.config().domain());
    String signIn = Authorisation.personWithdrawn(context.directory(), person);
    if (signIn != null) {
      return new Decision(null, name, signIn);
    }
    User user = context.directory().user(person.userName()).orElse(null);
    if (user == null) {
      return new Decision(null, name, "no VM named " + name);
    }
    VirtualMachine vm = context.lookup().find(user, name, now).map(VmLookup.Found::vm).orElse(null);
    if (vm == null) {
      return new Decision(null, name, "no VM named " + name);
    }
    VmPhase phase = vm.getStatus() == null ? null : vm.getStatus().phase;
    String ip = vm.getStatus() == null ? null : vm.getStatus().ipAddress;
    if (phase != VmPhase.Running || ip == null) {
      return new Decision(
          null,
          name,
          "VM "
              + name
              + " is "
              + (phase == null ? "Pending" : phase.name())
              + ", not Running; try: start "
              + name,
          true,
          null);
    }
    if (!context.directory().addressIsUnique(vm)) {
      // Issue 22: never connect one person to an address another VM claims too.
      return new Decision(
          null, name, "VM " + name + " shares its address with another VM; refusing to connect");
    }
    return new Decision(ip, name, null, false, vm);
  }

  /** {@code web.vm.example.com} → {@code web} when the domain is vm.example.com[:port]. */
  static String vmName(String requested, String domain) {
    String host = requested.toLowerCase(Locale.ROOT);
    return underDomain(requested, domain)
        ? host.substring(0, host.length() - domainHost(domain).length() - 1)
        : host;
  }

  /** {@code <vm>.<domain>}: a name only a VM can mean. */
  static boolean underDomain(String requested, String domain) {
    return requested.toLowerCase(Locale.ROOT).endsWith("." + domainHost(domain));
  }

  /** The domain without its port: vm.example.com:8443 → vm.example.com. */
  static String domainHost(String domain) {
    return domain.replaceFirst(":[0-9]+$", "").toLowerCase(Locale.ROOT);
  }
}
