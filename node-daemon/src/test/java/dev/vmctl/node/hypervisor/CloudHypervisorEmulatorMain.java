package dev.vmctl.node.hypervisor;

import java.nio.file.Path;

/**
 * The emulator as a process of its own, started the way the real binary is ({@code --api-socket
 * path=...}, or {@code --version}): for benchmarks that run the node daemon as a separate process
 * (hack/bench-chaos.sh), where VMMs must outlive a killed daemon exactly like real ones. It exits
 * when the VM asks it to (vmm.shutdown) and dies with SIGKILL like the real binary.
 */
public final class CloudHypervisorEmulatorMain {
  private CloudHypervisorEmulatorMain() {}

  public static void main(String[] args) throws Exception {
    CloudHypervisorEmulator.Options options =
        CloudHypervisorEmulator.Options.upstream().withoutHostPathChecks(); // nothing boots
    if (args.length == 1 && args[0].equals("--version")) {
      System.out.print(options.versionOutput());
      return;
    }
    Path socket = null;
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--api-socket") && args[i + 1].startsWith("path=")) {
        socket = Path.of(args[i + 1].substring("path=".length()));
      }
    }
    if (socket == null) {
      System.err.println("usage: --api-socket path=<socket> | --version");
      System.exit(2);
    }
    try (CloudHypervisorEmulator vmm = new CloudHypervisorEmulator(socket, options)) {
      while (!vmm.isStopped()) {
        Thread.sleep(100);
      }
    }
  }
}
