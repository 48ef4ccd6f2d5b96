package dev.vmctl.ssh;

import io.fabric8.kubernetes.client.KubernetesClientException;

/** API server errors as one short sentence for a person (no stack traces, no URLs). */
final class ApiErrors {
  private ApiErrors() {}

  static String describe(KubernetesClientException e) {
    String message =
        e.getStatus() != null && e.getStatus().getMessage() != null
            ? e.getStatus().getMessage()
            : "the cluster did not answer";
    return switch (e.getCode()) {
      case 403 -> "not allowed: " + message;
      case 409 -> "conflict: " + message;
      case 422 -> "invalid: " + message;
      default -> "failed: " + message;
    };
  }
}
