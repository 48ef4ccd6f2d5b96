package dev.vmctl.api.events;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes Kubernetes Events about decisions (visible in kubectl describe). Best effort. */
public final class EventRecorder {
  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);
  private final KubernetesClient client;
  private final String component;

  public EventRecorder(KubernetesClient client, String component) {
    this.client = client;
    this.component = component;
  }

  // Events are off the reconcile path: a slow or failing Event write never delays a decision.
  private final java.util.concurrent.ExecutorService writer =
      java.util.concurrent.Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "event-recorder");
            t.setDaemon(true);
            return t;
          });

  public void normal(HasMetadata about, String reason, String message) {
    submit(() -> record(about, "Normal", reason, message));
  }

  public void warning(HasMetadata about, String reason, String message) {
    submit(() -> record(about, "Warning", reason, message));
  }

  private void submit(Runnable write) {
    try {
      writer.execute(write);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.debug("event after close not recorded");
    }
  }

  /** Writes what is queued (a few seconds at most), then stops: no event is lost on shutdown. */
  public void close() {
    writer.shutdown();
    try {
      writer.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * One Event object per (object, type, reason, message): a repeat (a retried pass, a status
   * conflict) raises its count and last time instead of adding a second Event, as the Kubernetes
   * event recorder aggregates.
   */
  private void record(HasMetadata about, String type, String reason, String message) {
    String namespace =
        about.getMetadata().getNamespace() == null ? "default" : about.getMetadata().getNamespace();
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    String name = about.getMetadata().getName() + "." + key(about, type, reason, message);
    try {
      var events = client.v1().events().inNamespace(namespace);
      try {
        events
            .resource(
                new EventBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .withNamespace(namespace)
                    .endMetadata()
                    .withInvolvedObject(
                        new ObjectReferenceBuilder()
                            .withApiVersion(about.getApiVersion())
                            .withKind(about.getKind())
                            .withName(about.getMetadata().getName())
                            .withNamespace(about.getMetadata().getNamespace())
                            .withUid(about.getMetadata().getUid())
                            .build())
                    .withType(type)
                    .withReason(reason)
                    .withMessage(message)
                    .withFirstTimestamp(now)
                    .withLastTimestamp(now)
                    .withCount(1)
                    .withNewSource()
                    .withComponent(component)
                    .endSource()
                    .build())
            .create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        events
            .withName(name)
            .edit(
                ev -> {
                  ev.setCount(ev.getCount() == null ? 2 : ev.getCount() + 1);
                  ev.setLastTimestamp(now);
                  return ev;
                });
      }
    } catch (KubernetesClientException e) {
      log.warn(
          "could not record event {} on {}: {}",
          reason,
          about.getMetadata().getName(),
          e.getMessage());
    }
  }

  private static String key(HasMetadata about, String type, String reason, String message) {
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(
                  String.join("\n", about.getMetadata().getUid(), type, reason, message)
                      .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
