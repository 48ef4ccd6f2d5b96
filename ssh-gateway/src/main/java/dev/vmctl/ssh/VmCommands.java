package dev.vmctl.ssh;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
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
      if (phase == VmPhase.Failed) {
        throw new CommandFailed(name + " failed to start; see: ls");
      }
      sleep(200);
    }
    throw new CommandFailed(
        name + " is not running yet (" + (shown == null ? "Pending" : shown) + "); see: ls");
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
    List<String> columns = List.of("name", "phase", "ip", "cpus", "memory", "disk", "access");
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
    as(caller)
        .resources(VirtualMachine.class)
        .inNamespace(vm.getMetadata().getNamespace())
        .withName(vm.getMetadata().getName())
        .edit(
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
