package dev.vmctl.node.hypervisor;

import dev.vmctl.node.host.Commands;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Host commands for benchmarks: everything runs for real except launching cloud-hypervisor, which
 * starts an in-process {@link CloudHypervisorEmulator} on the --api-socket path. Records when each
 * VM's vm.boot arrived, by the VM's host-side id (its state directory's name).
 */
public final class EmulatedHypervisors implements Commands {
  private static final Pattern SOCKET = Pattern.compile("--api-socket path=(\\S+)");
  private final Commands real;
  private final Map<Path, CloudHypervisorEmulator> vmms = new ConcurrentHashMap<>();
  private final Map<String, Long> booted = new ConcurrentHashMap<>();

  public EmulatedHypervisors(Commands real) {
    this.real = real;
  }

  @Override
  public Result run(List<String> argv) throws IOException {
    String last = argv.get(argv.size() - 1);
    if (argv.get(0).equals("setsid") && last.contains("--api-socket")) {
      Matcher m = SOCKET.matcher(last);
      if (m.find()) {
        Path socket = Path.of(m.group(1));
        String id = socket.getParent().getFileName().toString();
        vmms.put(
            socket,
            new CloudHypervisorEmulator(
                socket,
                CloudHypervisorEmulator.Options.upstream()
                    .withoutHostPathChecks() // benchmarks boot nothing
                    .withOnBoot(() -> booted.put(id, System.nanoTime()))));
        return new Result(0, "", "");
      }
    }
    return real.run(argv);
  }

  /** System.nanoTime() of the vm.boot call for the VM with this host-side id, or null. */
  public Long bootedAt(String id) {
    return booted.get(id);
  }
}
