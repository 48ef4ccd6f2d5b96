package dev.vmctl.ssh;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Not a test (Surefire's default includes skip it): run by hack/bench-ssh-gateway.sh. Large-file
 * throughput through each proxy mode against direct SSH to the same sshd, and connection set-up
 * time, all with the real OpenSSH client. Writes the figures to bench.out.
 */
@ExtendWith(KubeApiServerExtension.class)
class SshGatewayBench {
  private static final int MIB = Integer.getInteger("bench.mib", 128);
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final int CONNECTS = Integer.getInteger("bench.connects", 15);

  @Test
  void measure(KubeEnv env) throws Exception {
    try (GatewayHarness gw = new GatewayHarness(env, Map.of())) {
      String suffix = UUID.randomUUID().toString().substring(0, 6);
      String vmName = "bench-" + suffix;
      Path key = gw.register("bench-" + suffix, "bench-" + suffix + "@example.com");
      try (NetnsSshd vm =
          new NetnsSshd(
              gw.dir,
              List.of(OpenSsh.publicKey(key), ProxyKeyPublisher.authorizedKeysLine(gw.proxyKey)))) {
        gw.vmAt(vmName, vm);
        OpenSsh.Result created = gw.ssh(key, "new", "--name", vmName);
        if (created.exit() != 0) {
          throw new IllegalStateException(created.toString());
        }
        Path config = Files.createTempFile(gw.dir, "ssh_config", "");
        Files.writeString(
            config,
            String.join(
                "\n",
                "Host vmctl-gw",
                "  HostName localhost",
                "  Port " + gw.port(),
                "Host *.vm.example.test",
                "  ProxyJump vmctl-gw",
                "Host *",
                "  User root",
                "  IdentityFile " + key,
                "  IdentitiesOnly yes",
                "  IdentityAgent none",
                "  StrictHostKeyChecking no",
                "  UserKnownHostsFile /dev/null",
                "  GlobalKnownHostsFile /dev/null",
                "  BatchMode yes",
                "  LogLevel ERROR",
                "  ControlMaster no",
                // The same key exchange on every hop (OpenSSH's default sntrup761 is far costlier
                // than what the gateway's client uses), so set-up times compare like with like.
                "  KexAlgorithms curve25519-sha256",
                ""));
        List<String> direct = List.of("ssh", "-F", config.toString(), vm.address);
        List<String> jump = List.of("ssh", "-F", config.toString(), vmName + ".vm.example.test");
        List<String> routed =
            List.of(
                "ssh",
                "-F",
                config.toString(),
                "-p",
                String.valueOf(gw.port()),
                "-l",
                vmName,
                "localhost");

        Path file = gw.dir.resolve("payload.bin");
        run(
            List.of("dd", "if=/dev/urandom", "of=" + file, "bs=1M", "count=" + MIB, "status=none"),
            null,
            null);
        StringBuilder report = new StringBuilder();
        report.append(
            String.format(
                "payload %d MiB, %d rounds (best), %d connects (median)%n", MIB, ROUNDS, CONNECTS));
        double up = 0;
        double down = 0;
        for (String[] mode : new String[][] {{"direct"}, {"proxyjump"}, {"username-routing"}}) {
          List<String> base =
              switch (mode[0]) {
                case "direct" -> direct;
                case "proxyjump" -> jump;
                default -> routed;
              };
          double upload = best(() -> timed(with(base, "cat > /dev/null"), file.toFile(), null));
          double download =
              best(() -> timed(with(base, "cat " + file), null, new File("/dev/null")));
          double connect = median(() -> timed(with(base, "true"), null, null));
          double upRate = MIB / upload;
          double downRate = MIB / download;
          if (mode[0].equals("direct")) {
            up = upRate;
            down = downRate;
          }
          report.append(
              String.format(
                  "%-16s upload %7.1f MiB/s (ratio %.2f)  download %7.1f MiB/s (ratio %.2f)"
                      + "  connect+exec %6.1f ms%n",
                  mode[0], upRate, upRate / up, downRate, downRate / down, connect * 1000));
        }
        // A file, not stdout: log lines of other threads would interleave with the figures.
        Path out = Path.of(System.getProperty("bench.out", "target/bench-ssh-gateway.txt"));
        Files.writeString(out, report);
        System.out.print(report);
      }
    }
  }

  private interface Measure {
    double seconds() throws Exception;
  }

  private static double best(Measure m) throws Exception {
    double best = Double.MAX_VALUE;
    for (int i = 0; i < ROUNDS; i++) {
      best = Math.min(best, m.seconds());
    }
    return best;
  }

  private static double median(Measure m) throws Exception {
    double[] all = new double[CONNECTS];
    for (int i = 0; i < CONNECTS; i++) {
      all[i] = m.seconds();
    }
    Arrays.sort(all);
    return all[CONNECTS / 2];
  }

  private static List<String> with(List<String> base, String command) {
    List<String> argv = new ArrayList<>(base);
    argv.add(command);
    return argv;
  }

  private static double timed(List<String> argv, File in, File out) throws Exception {
    long start = System.nanoTime();
    run(argv, in, out);
    return (System.nanoTime() - start) / 1e9;
  }

  private static void run(List<String> argv, File in, File out) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.redirectInput(
        in == null
            ? ProcessBuilder.Redirect.from(new File("/dev/null"))
            : ProcessBuilder.Redirect.from(in));
    pb.redirectOutput(
        out == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(out));
    Process p = pb.start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(argv + " exited " + p.exitValue());
    }
  }
}
