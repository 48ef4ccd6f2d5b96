package dev.vmctl.operator.shares;

import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Validates Shares against their VM, keeps each link share's token in a Secret owned by the Share
 * (never in status), and marks a Share not Ready when its VM is gone or it has expired.
 */
@ControllerConfiguration(name = "shares")
public class ShareReconciler implements Reconciler<Share> {
  public static final String TOKEN_KEY = "token";
  public static final String LINK_KEY = "link";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final OperatorConfig config;
  private final Clock clock;
  private InformerEventSource<VirtualMachine, Share> vms;

  public ShareReconciler(OperatorConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  public static String secretName(Share share) {
    return "share-" + share.getMetadata().getName();
  }

  @Override
  public List<EventSource<?, Share>> prepareEventSources(EventSourceContext<Share> context) {
    var shares = context.getPrimaryCache();
    vms =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(VirtualMachine.class, Share.class)
                .withName("share-vms")
                .withItemStore(new dev.vmctl.operator.TrimmingItemStore<>())
                .withSecondaryToPrimaryMapper(
                    vm ->
                        shares
                            .list(vm.getMetadata().getNamespace())
                            .filter(s -> vm.getMetadata().getName().equals(s.getSpec().vm))
                            .map(ResourceID::fromResource)
                            .collect(Collectors.toSet()))
                .build(),
            context);
    return List.of(vms);
  }

  @Override
  public UpdateControl<Share> reconcile(Share share, Context<Share> context) {
    KubernetesClient client = context.getClient();
    String namespace = share.getMetadata().getNamespace();
    Instant now = clock.instant();
    Optional<VirtualMachine> vm =
        vms.get(new ResourceID(share.getSpec().vm, namespace))
            .filter(v -> v.getMetadata().getDeletionTimestamp() == null);
    // Bound once, to the VM it first applied to; a later VM of that name is another VM.
    String boundTo =
        share.getStatus() != null && share.getStatus().vmUid != null
            ? share.getStatus().vmUid
            : vm.map(v -> v.getMetadata().getUid()).orElse(null);
    boolean replaced = vm.isPresent() && !vm.get().getMetadata().getUid().equals(boundTo);
    boolean vmExists = vm.isPresent() && !replaced;
    Instant expiry =
        share.getSpec().expiresAt == null
            ? null
            : java.time.OffsetDateTime.parse(share.getSpec().expiresAt).toInstant();
    boolean expired = expiry != null && !now.isBefore(expiry);
    boolean link = Boolean.TRUE.equals(share.getSpec().link);

    String url = "https://" + share.getSpec().vm + "." + config.domain() + "/";
    Secret secret = client.secrets().inNamespace(namespace).withName(secretName(share)).get();
    if (link && secret == null && vmExists && !expired) {
      client.resource(tokenSecret(share, url)).create();
    } else if (secret != null && (!link || !vmExists || expired)) {
      // The token must stop working: deleting the Secret revokes it.
      client.resource(secret).delete();
    }

    Share.Status status = new Share.Status();
    status.observedGeneration = share.getMetadata().getGeneration();
    status.url = link && vmExists && !expired ? url : null;
    status.secretName = link && vmExists && !expired ? secretName(share) : null;
    status.vmUid = boundTo;
    String reason;
    String message;
    if (replaced) {
      reason = Reasons.VM_REPLACED;
      message =
          "The VM "
              + share.getSpec().vm
              + " this Share was made for was deleted; the VM now called so is another VM and does"
              + " not inherit it. Create a new Share for it.";
    } else if (!vmExists) {
      reason = Reasons.VM_NOT_FOUND;
      message = "There is no VM named " + share.getSpec().vm + " in this namespace.";
    } else if (expired) {
      reason = Reasons.EXPIRED;
      message = "The share expired at " + share.getSpec().expiresAt + ".";
    } else {
      reason = Reasons.ACTIVE;
      message =
          link
              ? "Whoever holds the link in Secret " + secretName(share) + " can open the VM."
              : share.getSpec().email != null
                  ? share.getSpec().email + " can reach the VM."
                  : "Everyone can open the VM's web address.";
    }
    List<io.fabric8.kubernetes.api.model.Condition> previous =
        share.getStatus() == null ? List.of() : share.getStatus().conditions;
    status.conditions =
        Conditions.set(
            previous,
            ConditionTypes.READY,
            vmExists && !expired,
            reason,
            message,
            status.observedGeneration,
            now);
    UpdateControl<Share> control = UpdateControl.noUpdate();
    if (!sameStatus(share.getStatus(), status)) {
      share.setStatus(status);
      client.resource(share).updateStatus();
    }
    if (expiry != null && !expired) {
      control.rescheduleAfter(Duration.between(now, expiry).plusSeconds(1));
    }
    return control;
  }

  private static boolean sameStatus(Share.Status a, Share.Status b) {
    return a != null
        && Objects.equals(a.url, b.url)
        && Objects.equals(a.secretName, b.secretName)
        && Objects.equals(a.vmUid, b.vmUid)
        && Objects.equals(a.observedGeneration, b.observedGeneration)
        && Objects.equals(a.conditions, b.conditions);
  }

  private static Secret tokenSecret(Share share, String url) {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    return new SecretBuilder()
        .withNewMetadata()
        .withName(secretName(share))
        .withNamespace(share.getMetadata().getNamespace())
        .withLabels(Map.of(Share.SHARE_LABEL, share.getMetadata().getName()))
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion(share.getApiVersion())
                .withKind(share.getKind())
                .withName(share.getMetadata().getName())
                .withUid(share.getMetadata().getUid())
                .withController(true)
                .build())
        .endMetadata()
        .withType("Opaque")
        .withStringData(Map.of(TOKEN_KEY, token, LINK_KEY, url + "__vmctl/share/" + token))
        .build();
  }
}
