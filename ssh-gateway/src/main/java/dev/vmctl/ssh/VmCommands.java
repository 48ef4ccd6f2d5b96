package dev.vmctl.ssh;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.RunStrategy;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.api.v1alpha1.VmPhase;
import dev.vmctl.gateway.Directory;
import dev.vmctl.ssh.Invocation.UsageException;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** new, ls, rm, restart, stop, start, resize: VM commands, written as the person. */
final class VmCommands {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String QUANTITY = "[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?";

  private final GatewayContext context;

  VmCommands(GatewayContext context) {
    this.context = context;
  }

  void create(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (!in.args().isEmpty()) {
      throw new UsageException("new takes no arguments, only flags");
    }
    User user = caller.user();
    Directory directory = context.directory();
    String name = in.flag("name");
    if (name == null) {
      name = Names.vmName(n -> !directory.vmsNamed(n).isEmpty());
    } else if (!Names.isDnsLabel(name)) {
      throw new UsageException(
          "--name must be lower-case letters, digits and inner dashes, at most 63");
    } else if (!directory.vmsNamed(name).isEmpty()) {
      throw new CommandFailed("the name " + name + " is taken; pick another");
    }
    VirtualMachine vm = new VirtualMachine();
    String namespace = Directory.namespaceOf(user);
    vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    VirtualMachineSpec spec = new VirtualMachineSpec();
    spec.owner = user.getMetadata().getName();
    spec.image = in.flag("image");
    spec.cpus = in.has("cpus") ? cpus(in.flag("cpus")) : null;
    spec.memory = in.has("memory") ? quantity("memory", in.flag("memory")) : null;
    spec.disk = in.has("disk") ? quantity("disk", in.flag("disk")) : null;
    vm.setSpec(spec);
    as(caller).resource(vm).create();
    console.println("creating " + name + " ...");
    waitUntilRunning(namespace, name, console);
    console.println("");
    console.println("ready. reach it with:");
    console.println("  ssh " + context.portOption() + name + "@" + context.config().publicHost());
    console.println(
        "  ssh -J " + context.jumpHost() + " " + context.config().guestUser() + "@" + name);
    console.println("  https://" + name + "." + context.config().domain() + "/");
    List<String> pins =
        context.directory().vm(namespace, name).map(this::knownHostsLines).orElse(List.of());
    if (!pins.isEmpty()) {
      console.println(
          "its SSH host key, for ~/.ssh/known_hosts (again: known-hosts " + name + "):");
      pins.forEach(line -> console.println("  " + line));
    }
  }

  /**
   * known-hosts [vm] [--json]: the known_hosts lines of the VMs you may reach, so ProxyJump users
   * can pin each VM's key (the client checks it end to end; the gateway checks it for username
   * routing). Both names a client may use: {@code <vm>} and {@code <vm>.<domain host>}.
   */
  void knownHosts(Invocation in, Caller caller, Console console)
      throws UsageException, CommandFailed {
    if (in.args().size() > 1) {
      throw new UsageException("known-hosts takes at most one VM name");
    }
    User user = caller.user();
    List<VmLookup.Found> found;
    if (in.args().isEmpty()) {
      found = context.lookup().visible(user, context.clock().instant());
    } else {
      String name = in.args().get(0);
      found =
          List.of(
              context
                  .lookup()
                  .find(user, name, context.clock().instant())
                  .orElseThrow(() -> CommandFailed.noVm(name)));
    }
    if (in.has("json")) {
      List<Map<String, Object>> rows = new ArrayList<>();
      for (VmLookup.Found f : found) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", f.vm().getMetadata().getName());
        row.put("hostKeys", hostKeys(f.vm()));
        row.put("knownHosts", knownHostsLines(f.vm()));
        rows.add(row);
      }
      try {
        console.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      return;
    }
    for (VmLookup.Found f : found) {
      knownHostsLines(f.vm()).forEach(console::println);
    }
  }

  private static List<String> hostKeys(VirtualMachine vm) {
    return vm.getStatus() == null || vm.getStatus().sshHostKeys == null
        ? List.of()
        : vm.getStatus().sshHostKeys;
  }

  private List<String> knownHostsLines(VirtualMachine vm) {
    String name = vm.getMetadata().getName();
    String domainHost = context.config().domain().replaceFirst(":[0-9]+$", "");
    return hostKeys(vm).stream()
        .filter(key -> key.matches("[a-z0-9@.-]+ [A-Za-z0-9+/=]+"))
        .map(key -> name + "," + name + "." + domainHost + " " + key)
        .toList();
  }

  private void waitUntilRunning(String namespace, String name, Console console)
      throws CommandFailed {
    Instant deadline = context.clock().instant().plus(context.config().newTimeout());
    VmPhase shown = null;
    while (context.clock().instant().isBefore(deadline)) {
      Optional<VirtualMachine> current = context.directory().vm(namespace, name);
      VmPhase phase =
          current.map(v -> v.getStatus() == null ? null : v.getStatus().phase).orElse(null);
      if (phase != null && phase != shown) {
        console.println("  " + phase);
        shown = phase;
      }
      if (phase == VmPhase.Running && current.get().getStatus().ipAddress != null) {
        return;
      }
      Optional<String> waiting = current.flatMap(VmCommands::cannotStart);
      if (waiting.isPresent()) {
        // Issue 19 item 3: say why at once, not "Pending" for five minutes.
        console.println("  not started: " + waiting.get());
        throw new CommandFailed(
            name
                + " exists but cannot start yet; it starts by itself once it fits (ls shows"
                + " why; rm "
                + name
                + " to give up)");
      }
      if (phase == VmPhase.Failed) {
        throw new CommandFailed(name + " failed to start; see: ls");
      }
      sleep(200);
    }
    throw new CommandFailed(
        name + " is not running yet (" + (shown == null ? "Pending" : shown) + "); see: ls");
  }

  /**
   * Why a VM that is not running cannot start, from its conditions: not placed (Scheduled=False:
   * quota, no host with room, a disabled owner) or waiting for its host to admit it.
   */
  static Optional<String> cannotStart(VirtualMachine vm) {
    if (vm.getStatus() == null || vm.getStatus().phase == VmPhase.Running) {
      return Optional.empty();
    }
    return vm.getStatus().conditions == null
        ? Optional.empty()
        : vm.getStatus().conditions.stream()
            .filter(c -> ConditionTypes.SCHEDULED.equals(c.getType()))
            .filter(c -> "False".equals(c.getStatus()))
            .filter(c -> !Reasons.RELEASED.equals(c.getReason()))
            .map(c -> c.getMessage())
            .filter(m -> m != null && !m.isBlank())
            .findFirst();
  }

  void list(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (!in.args().isEmpty()) {
      throw new UsageException("ls takes no arguments");
    }
    User user = caller.user();
    List<VmLookup.Found> found = context.lookup().visible(user, context.clock().instant());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (VmLookup.Found f : found) {
      rows.add(row(f));
    }
    if (in.has("json")) {
      try {
        console.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      return;
    }
    if (rows.isEmpty()) {
      console.println("no VMs yet; create one with: new");
      return;
    }
    List<String> columns =
        new ArrayList<>(List.of("name", "phase", "ip", "cpus", "memory", "disk", "access"));
    if (rows.stream().anyMatch(r -> r.containsKey("note"))) {
      columns.add("note");
    }
    console.print(Table.render(columns, rows));
  }

  private Map<String, Object> row(VmLookup.Found f) {
    VirtualMachine vm = f.vm();
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("name", vm.getMetadata().getName());
    row.put(
        "phase",
        vm.getStatus() == null || vm.getStatus().phase == null
            ? "Pending"
            : vm.getStatus().phase.name());
    row.put("ip", vm.getStatus() == null ? null : vm.getStatus().ipAddress);
    row.put("cpus", vm.getSpec().cpus);
    row.put("memory", vm.getSpec().memory);
    row.put("disk", vm.getSpec().disk);
    row.put("access", f.owned() ? "owner" : "shared");
    cannotStart(vm).ifPresent(why -> row.put("note", why));
    if (!f.owned()) {
      row.put("owner", context.directory().ownerOf(vm));
    }
    row.put("url", "https://" + vm.getMetadata().getName() + "." + context.config().domain() + "/");
    return row;
  }

  void delete(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    VirtualMachine vm = owned(in, caller, "rm");
    as(caller).resource(vm).delete();
    console.println("deleting " + vm.getMetadata().getName());
  }

  void restart(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    VirtualMachine vm = owned(in, caller, "restart");
    String now = context.clock().instant().toString();
    edit(
        caller,
        vm,
        v -> {
          v.getMetadata().getAnnotations().put(VirtualMachine.RESTARTED_AT_ANNOTATION, now);
          return v;
        });
    console.println("restarting " + vm.getMetadata().getName());
  }

  void stop(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    VirtualMachine vm = owned(in, caller, "stop");
    edit(
        caller,
        vm,
        v -> {
          v.getSpec().runStrategy = RunStrategy.Halted;
          return v;
        });
    console.println("stopping " + vm.getMetadata().getName());
  }

  void start(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    VirtualMachine vm = owned(in, caller, "start");
    edit(
        caller,
        vm,
        v -> {
          v.getSpec().runStrategy = RunStrategy.Always;
          return v;
        });
    console.println("starting " + vm.getMetadata().getName());
  }

  void resize(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (!in.has("cpus") && !in.has("memory")) {
      throw new UsageException("resize needs --cpus or --memory");
    }
    Integer cpus = in.has("cpus") ? cpus(in.flag("cpus")) : null;
    String memory = in.has("memory") ? quantity("memory", in.flag("memory")) : null;
    VirtualMachine vm = owned(in, caller, "resize");
    edit(
        caller,
        vm,
        v -> {
          if (cpus != null) {
            v.getSpec().cpus = cpus;
          }
          if (memory != null) {
            v.getSpec().memory = memory;
          }
          return v;
        });
    console.println("resizing " + vm.getMetadata().getName());
  }

  /** The person's own VM named by the only argument; shared VMs are for their owners to change. */
  VirtualMachine owned(Invocation in, Caller caller, String verb)
      throws UsageException, CommandFailed {
    String name = in.single("VM name");
    User user = caller.user();
    VmLookup.Found found =
        context
            .lookup()
            .find(user, name, context.clock().instant())
            .orElseThrow(() -> CommandFailed.noVm(name));
    if (!found.owned()) {
      throw new CommandFailed(name + " is shared with you; only its owner can " + verb + " it");
    }
    return found.vm();
  }

  private void edit(Caller caller, VirtualMachine vm, UnaryOperator<VirtualMachine> change) {
    dev.vmctl.api.kube.Edits.edit(
        as(caller)
            .resources(VirtualMachine.class)
            .inNamespace(vm.getMetadata().getNamespace())
            .withName(vm.getMetadata().getName()),
        v -> {
          if (v.getMetadata().getAnnotations() == null) {
            v.getMetadata().setAnnotations(new LinkedHashMap<>());
          }
          return change.apply(v);
        });
  }

  private KubernetesClient as(Caller caller) {
    return context.people().as(caller.person().userName());
  }

  private static int cpus(String value) throws UsageException {
    try {
      int cpus = Integer.parseInt(value);
      if (cpus >= 1 && cpus <= 128) {
        return cpus;
      }
    } catch (NumberFormatException e) {
      // fall through to the usage error
    }
    throw new UsageException("--cpus must be a whole number from 1 to 128");
  }

  private static String quantity(String flag, String value) throws UsageException {
    if (!value.matches(QUANTITY)) {
      throw new UsageException("--" + flag + " must be a size such as 512Mi or 4Gi");
    }
    return value;
  }

  private static void sleep(long millis) throws CommandFailed {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailed("interrupted");
    }
  }
}
