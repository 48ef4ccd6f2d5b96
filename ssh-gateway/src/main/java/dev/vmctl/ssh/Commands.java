package dev.vmctl.ssh;

import dev.vmctl.ssh.Invocation.UsageException;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The gateway's commands: one table of names, usages and accepted flags, and the dispatch that
 * turns a command line into an exit status (0 done, 1 failed, 2 usage error).
 */
public final class Commands {
  /** What a command does with a parsed invocation. */
  @FunctionalInterface
  public interface Handler {
    void run(Invocation invocation, Caller caller, Console console)
        throws UsageException, CommandFailed;
  }

  /** One command's name, usage line, accepted flags and handler. */
  public record Spec(
      String name,
      String usage,
      String summary,
      Set<String> valueFlags,
      Set<String> switches,
      Handler handler) {}

  /** The command line of a session whose login name asked for a VM the person cannot reach. */
  static final String NOT_YOURS = "vm-not-yours";

  private final Map<String, Spec> specs = new LinkedHashMap<>();
  private final GatewayMetrics metrics;
  private final String domain;

  public Commands(GatewayContext context) {
    this.metrics = context.metrics();
    this.domain = context.config().domain();
    VmCommands vms = new VmCommands(context);
    ShareCommands shares = new ShareCommands(context);
    AccountCommands account = new AccountCommands(context);
    add("help", "help", "show this list", Set.of(), Set.of(), (i, c, o) -> o.print(help()));
    add(
        "register",
        "register <email>",
        "register this key under your email",
        Set.of(),
        Set.of(),
        account::register);
    add(
        "new",
        "new [--name N] [--image I] [--cpus C] [--memory M] [--disk D]",
        "create a VM and wait until it runs",
        Set.of("name", "image", "cpus", "memory", "disk"),
        Set.of(),
        vms::create);
    add(
        "ls",
        "ls [--json]",
        "list your VMs and those shared with you",
        Set.of(),
        Set.of("json"),
        vms::list);
    add(
        "known-hosts",
        "known-hosts [vm] [--json]",
        "print your VMs' SSH host keys as known_hosts lines",
        Set.of(),
        Set.of("json"),
        vms::knownHosts);
    add("rm", "rm <vm>", "delete a VM", Set.of(), Set.of(), vms::delete);
    add("restart", "restart <vm>", "restart a VM", Set.of(), Set.of(), vms::restart);
    add("stop", "stop <vm>", "stop a VM (keeps its disks)", Set.of(), Set.of(), vms::stop);
    add("start", "start <vm>", "start a stopped VM", Set.of(), Set.of(), vms::start);
    add(
        "resize",
        "resize <vm> [--cpus C] [--memory M]",
        "change CPUs or memory",
        Set.of("cpus", "memory"),
        Set.of(),
        vms::resize);
    add(
        "share",
        "share <vm> add <email> | link | public | private | ls [--json] | rm <email|link>",
        "share a VM",
        Set.of(),
        Set.of("json"),
        shares::run);
    add("whoami", "whoami", "show your account", Set.of(), Set.of(), account::whoami);
    add(
        "keys",
        "keys add <public key> | ls | rm <fingerprint>",
        "manage your SSH keys",
        Set.of(),
        Set.of(),
        account::keys);
    add(
        "login",
        "login",
        "print a one-time link that signs you in on the web",
        Set.of(),
        Set.of(),
        account::login);
  }

  private void add(
      String name,
      String usage,
      String summary,
      Set<String> valueFlags,
      Set<String> switches,
      Handler handler) {
    specs.put(name, new Spec(name, usage, summary, valueFlags, switches, handler));
  }

  /** Runs one command line; never throws for anything the person typed. */
  public int run(String line, Caller caller, Console console) {
    List<String> tokens;
    try {
      tokens = Invocation.tokenize(line);
    } catch (UsageException e) {
      console.error(e.getMessage());
      return 2;
    }
    if (tokens.isEmpty()) {
      return 0;
    }
    Spec spec = specs.get(tokens.get(0));
    if (spec == null && tokens.get(0).equals(NOT_YOURS)) {
      console.error(
          "you have no VM named "
              + clip(caller.unreachableVm(domain).orElse("?"))
              + " (ls lists yours)");
      metrics.command("unknown", 2);
      return 2;
    }
    if (spec == null) {
      Optional<String> vm = caller.unreachableVm(domain);
      console.error(
          "unknown command: "
              + clip(tokens.get(0))
              + " (try: help)"
              + vm.map(
                      name ->
                          "; you have no VM named "
                              + clip(name)
                              + " (ls lists yours), so this session is the gateway's")
                  .orElse(""));
      metrics.command("unknown", 2);
      return 2;
    }
    int status = runSpec(spec, tokens.subList(1, tokens.size()), caller, console);
    metrics.command(spec.name(), status);
    return status;
  }

  private int runSpec(Spec spec, List<String> rest, Caller caller, Console console) {
    try {
      Invocation invocation =
          Invocation.parse(spec.name(), rest, spec.valueFlags(), spec.switches());
      spec.handler().run(invocation, caller, console);
      return 0;
    } catch (UsageException e) {
      console.error(e.getMessage());
      console.error("usage: " + spec.usage());
      return 2;
    } catch (CommandFailed e) {
      console.error(e.getMessage());
      return 1;
    } catch (KubernetesClientException e) {
      console.error(ApiErrors.describe(e));
      return 1;
    } catch (UncheckedIOException e) {
      return 1; // the person disconnected mid-output
    }
  }

  public String help() {
    StringBuilder text = new StringBuilder("commands:\n");
    List<String> rows = new ArrayList<>();
    for (Spec spec : specs.values()) {
      rows.add(String.format("  %-62s %s", spec.usage(), spec.summary()));
    }
    rows.add(String.format("  %-62s %s", "exit", "leave the shell"));
    text.append(String.join("\n", rows)).append("\n");
    return text.toString();
  }

  static String clip(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
