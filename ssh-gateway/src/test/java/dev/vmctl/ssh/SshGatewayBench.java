package dev.vmctl.ssh;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
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
  private static final int RUNS = Integer.getInteger("bench.runs", 3);
  private static final int WARMUP = Integer.getInteger("bench.warmup", 1);

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
        try (NetnsSshd jumpHost = NetnsSshd.onLoopback(gw.dir, List.of(OpenSsh.publicKey(key)))) {
          Path config = Files.createTempFile(gw.dir, "ssh_config", "");
          Files.writeString(
              config,
              String.join(
                  "\n",
                  "Host vmctl-gw",
                  "  HostName localhost",
                  "  Port " + gw.port(),
                  "Host openssh-jump",
                  "  HostName 127.0.0.1",
                  "  Port " + jumpHost.port,
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
                  // The same key exchange on every hop (OpenSSH's default sntrup761 is far
                  // costlier than what the gateway's client uses), so set-up times compare like
                  // with like.
                  "  KexAlgorithms curve25519-sha256",
                  ""));
          String cfg = config.toString();
          Map<String, List<String>> modes = new LinkedHashMap<>();
          modes.put("direct", List.of("ssh", "-F", cfg, vm.address));
          modes.put("openssh-jump", List.of("ssh", "-F", cfg, "-J", "openssh-jump", vm.address));
          modes.put("proxyjump", List.of("ssh", "-F", cfg, vmName + ".vm.example.test"));
          modes.put(
              "username-routing",
              List.of(
                  "ssh", "-F", cfg, "-p", String.valueOf(gw.port()), "-l", vmName, "localhost"));
          // bench.modes narrows the gateway modes (for profiling one); direct and the anchor stay.
          String only = System.getProperty("bench.modes", "");
          if (!only.isBlank()) {
            List<String> keep = List.of(only.split(","));
            modes
                .keySet()
                .removeIf(
                    m -> !m.equals("direct") && !m.equals("openssh-jump") && !keep.contains(m));
          }
          report(file(gw.dir), modes);
        }
      }
    }
  }

  private static Path file(Path dir) throws Exception {
    Path file = dir.resolve("payload.bin");
    run(
        List.of("dd", "if=/dev/urandom", "of=" + file, "bs=1M", "count=" + MIB, "status=none"),
        null,
        null);
    return file;
  }

  /**
   * RUNS runs, each measuring every mode once (upload, download: best of ROUNDS; connect: median of
   * CONNECTS), so that ratios compare modes measured minutes apart at most; then the median and
   * range of each ratio over the runs.
   */
  private static void report(Path file, Map<String, List<String>> modes) throws Exception {
    StringBuilder report = new StringBuilder();
    report.append(
        String.format(
            "payload %d MiB; %d warm-up transfers each way per mode, then %d runs; per run and"
                + " mode: best of %d transfers, median of %d connects; ratios to openssh-jump"
                + " (OpenSSH's sshd as the jump host) measured in the same run%n",
            MIB, WARMUP, RUNS, ROUNDS, CONNECTS));
    // A gateway runs for days: its JIT has compiled the copy paths long before anyone measures.
    // One untimed transfer each way per mode first (OpenSSH has no warm-up to do).
    for (int i = 0; i < WARMUP; i++) {
      for (List<String> base : modes.values()) {
        timed(with(base, "cat > /dev/null"), file.toFile(), null);
        timed(with(base, "cat " + file), null, new File("/dev/null"));
      }
    }
    Map<String, double[][]> figures = new LinkedHashMap<>(); // mode -> run -> {up, down, connect}
    modes.keySet().forEach(m -> figures.put(m, new double[RUNS][]));
    for (int run = 0; run < RUNS; run++) {
      for (var mode : modes.entrySet()) {
        List<String> base = mode.getValue();
        double upload = best(() -> timed(with(base, "cat > /dev/null"), file.toFile(), null));
        double download = best(() -> timed(with(base, "cat " + file), null, new File("/dev/null")));
        double connect = median(() -> timed(with(base, "true"), null, null));
        figures.get(mode.getKey())[run] = new double[] {MIB / upload, MIB / download, connect};
      }
      double[] anchor = figures.get("openssh-jump")[run];
      double[] direct = figures.get("direct")[run];
      for (var mode : figures.entrySet()) {
        double[] f = mode.getValue()[run];
        report.append(
            String.format(
                "run %d %-16s upload %7.1f MiB/s (%.2f of jump, %.2f of direct)  download %7.1f"
                    + " MiB/s (%.2f of jump, %.2f of direct)  connect+exec %6.1f ms (%+6.1f ms)%n",
                run + 1,
                mode.getKey(),
                f[0],
                f[0] / anchor[0],
                f[0] / direct[0],
                f[1],
                f[1] / anchor[1],
                f[1] / direct[1],
                f[2] * 1000,
                (f[2] - direct[2]) * 1000));
      }
    }
    report.append("summary over the runs: median (min-max)\n");
    for (var mode : figures.entrySet()) {
      double[][] runs = mode.getValue();
      double[][] anchor = figures.get("openssh-jump");
      double[][] direct = figures.get("direct");
      report.append(
          String.format(
              "%-16s upload %s of jump  download %s of jump  set-up vs direct %s ms%n",
              mode.getKey(),
              spread(i -> runs[i][0] / anchor[i][0], "%.2f"),
              spread(i -> runs[i][1] / anchor[i][1], "%.2f"),
              spread(i -> (runs[i][2] - direct[i][2]) * 1000, "%+.1f")));
    }
    // A file, not stdout: log lines of other threads would interleave with the figures.
    Path out = Path.of(System.getProperty("bench.out", "target/bench-ssh-gateway.txt"));
    Files.writeString(out, report);
    System.out.print(report);
  }

  private static String spread(java.util.function.IntToDoubleFunction ofRun, String format) {
    double[] v = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      v[i] = ofRun.applyAsDouble(i);
    }
    Arrays.sort(v);
    double median = RUNS % 2 == 1 ? v[RUNS / 2] : (v[RUNS / 2 - 1] + v[RUNS / 2]) / 2;
    return String.format(format + " (" + format + "-" + format + ")", median, v[0], v[RUNS - 1]);
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
