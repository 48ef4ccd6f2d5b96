package dev.vmctl.api.events;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes Kubernetes Events about decisions (visible in kubectl describe). Best effort. One Event
 * object per (object, type, reason): a repeat raises its count and lastTimestamp and carries the
 * latest message, as the Kubernetes event recorder aggregates, so a VM that fails the same way a
 * hundred times has one Warning with count 100, not a hundred Events.
 */
public final class EventRecorder {
  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);
  private final KubernetesClient client;
  private final String component;
  private final Clock clock;

  public EventRecorder(KubernetesClient client, String component) {
    this(client, component, Clock.systemUTC());
  }

  /** With the clock that stamps firstTimestamp and lastTimestamp (taken when the call is made). */
  public EventRecorder(KubernetesClient client, String component, Clock clock) {
    this.client = client;
    this.component = component;
    this.clock = clock;
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
    String now = now();
    submit(() -> record(about, "Normal", reason, message, now));
  }

  public void warning(HasMetadata about, String reason, String message) {
    String now = now();
    submit(() -> record(about, "Warning", reason, message, now));
  }

  private String now() {
    return clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
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
   * One Event object per (object, type, reason): a repeat (a retried pass, a status conflict, the
   * same failure with a new message) raises its count and last time and takes the new message
   * instead of adding a second Event.
   */
  private void record(HasMetadata about, String type, String reason, String message, String now) {
    String namespace =
        about.getMetadata().getNamespace() == null ? "default" : about.getMetadata().getNamespace();
    String name = about.getMetadata().getName() + "." + key(about, type, reason);
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
        dev.vmctl.api.kube.Edits.edit(
            events.withName(name),
            ev -> {
              ev.setCount(ev.getCount() == null ? 2 : ev.getCount() + 1);
              ev.setLastTimestamp(now);
              ev.setMessage(message);
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

  private static String key(HasMetadata about, String type, String reason) {
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(
                  String.join("\n", about.getMetadata().getUid(), type, reason)
                      .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
