package dev.vmctl.api.kube;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.net.HttpURLConnection;
import java.util.function.UnaryOperator;

/**
 * Read-modify-write of an object that others write too. fabric8's {@code edit} sends the
 * resourceVersion it read, so a status write by a controller between the read and the patch answers
 * 409 Conflict; the change is then applied again to a fresh read. The fabric8 client retries 429
 * and 5xx only, never 409.
 */
public final class Edits {
  static final int ATTEMPTS = 8;

  private Edits() {}

  /** Applies {@code change} (which must be safe to apply to a fresh copy again) until it lands. */
  public static <T extends HasMetadata> T edit(Resource<T> resource, UnaryOperator<T> change) {
    return retried(() -> resource.edit(change));
  }

  /** The same for the status subresource (an edit of the object ignores its status). */
  public static <T extends HasMetadata> T editStatus(
      Resource<T> resource, UnaryOperator<T> change) {
    return retried(() -> resource.editStatus(change));
  }

  private static <T> T retried(java.util.function.Supplier<T> write) {
    for (int attempt = 1; ; attempt++) {
      try {
        return write.get();
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT || attempt == ATTEMPTS) {
          throw e;
        }
      }
    }
  }
}
