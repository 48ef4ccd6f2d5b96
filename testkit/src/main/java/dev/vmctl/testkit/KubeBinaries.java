package dev.vmctl.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Locates the etcd, kube-apiserver and kubectl binaries that {@code hack/kube-binaries.sh}
 * provides.
 */
public record KubeBinaries(Path dir) {

  /** The Kubernetes release the project pins; must match K8S_VERSION in hack/kube-binaries.sh. */
  public static final String KUBERNETES_VERSION = "1.34.4";

  public static KubeBinaries locate() {
    String configured = System.getProperty("vmctl.kube.binaries");
    if (configured == null || configured.isBlank() || configured.startsWith("${")) {
      configured = System.getenv("VMCTL_KUBE_BINARIES");
    }
    Path dir =
        configured != null && !configured.isBlank()
            ? Path.of(configured)
            : defaultCache().resolve("kube").resolve("v" + KUBERNETES_VERSION);
    KubeBinaries binaries = new KubeBinaries(dir);
    for (Path binary : List.of(binaries.etcd(), binaries.kubeApiServer(), binaries.kubectl())) {
      if (!Files.isExecutable(binary)) {
        throw new IllegalStateException(
            binary
                + " is missing. Run hack/kube-binaries.sh (it builds kube-apiserver and kubectl"
                + " from the Go module proxy and unpacks etcd from Debian) or set"
                + " VMCTL_KUBE_BINARIES to a directory that holds all three.");
      }
    }
    return binaries;
  }

  static Path defaultCache() {
    String cache = System.getenv("VMCTL_CACHE");
    return cache != null && !cache.isBlank()
        ? Path.of(cache)
        : Path.of(System.getProperty("user.home"), ".cache", "vmctl");
  }

  public Path etcd() {
    return dir.resolve("etcd");
  }

  public Path kubeApiServer() {
    return dir.resolve("kube-apiserver");
  }

  public Path kubectl() {
    return dir.resolve("kubectl");
  }
}
