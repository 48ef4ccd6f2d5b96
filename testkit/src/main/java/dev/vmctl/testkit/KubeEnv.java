package dev.vmctl.testkit;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What a test class gets from {@link KubeApiServerExtension}: the server, a client, a namespace.
 */
public final class KubeEnv {
  private final KubeApiServer server;
  private final KubernetesClient client;
  private final String namespace;

  KubeEnv(KubeApiServer server, KubernetesClient client, String namespace) {
    this.server = server;
    this.client = client;
    this.namespace = namespace;
  }

  public KubeApiServer server() {
    return server;
  }

  /** An administrator's client whose default namespace is this test class's own. */
  public KubernetesClient client() {
    return client;
  }

  public String namespace() {
    return namespace;
  }

  /** Runs the real kubectl against the server, in this test class's namespace. */
  public Result kubectl(String... args) {
    return kubectlWithInput(null, args);
  }

  public Result kubectlWithInput(String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(server.binaries().kubectl().toString());
    command.add("--kubeconfig=" + server.kubeconfig());
    command.add("--namespace=" + namespace);
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).start();
      if (stdin != null) {
        process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      process.getOutputStream().close();
      var out = process.getInputStream().readAllBytes();
      var err = process.getErrorStream().readAllBytes();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("kubectl timed out: " + command);
      }
      return new Result(
          process.exitValue(),
          new String(out, StandardCharsets.UTF_8),
          new String(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kubectl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Exit status and output of one kubectl run. */
  public record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }
}
