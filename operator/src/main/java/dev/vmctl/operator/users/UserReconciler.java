package dev.vmctl.operator.users;

import dev.vmctl.api.events.EventRecorder;
import dev.vmctl.api.status.ConditionTypes;
import dev.vmctl.api.status.Conditions;
import dev.vmctl.api.status.Reasons;
import dev.vmctl.api.v1alpha1.Quota;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;

/**
 * Gives each User a namespace (owned by the User, so deleting the User cascades), a default Quota
 * (created once; administrators may change it afterwards) and a RoleBinding that lets the identity
 * {@code vmctl:user:<name>} (which the gateways impersonate) manage VMs and Shares there.
 */
@ControllerConfiguration(name = "users")
public class UserReconciler implements Reconciler<User> {
  public static final String USER_LABEL = "vmctl.dev/user";
  public static final String CLUSTER_ROLE = "vmctl-user";
  private static final String MANAGER = "vmctl-operator";

  private final OperatorConfig config;
  private final Clock clock;
  private final EventRecorder events;

  public UserReconciler(OperatorConfig config, Clock clock, EventRecorder events) {
    this.config = config;
    this.clock = clock;
    this.events = events;
  }

  /** The Kubernetes user name the gateways impersonate for this User. */
  public static String identity(String userName) {
    return "vmctl:user:" + userName;
  }

  public static String namespaceOf(User user) {
    return user.getSpec() != null && user.getSpec().namespace != null
        ? user.getSpec().namespace
        : "user-" + user.getMetadata().getName();
  }

  @Override
  public UpdateControl<User> reconcile(User user, Context<User> context) {
    KubernetesClient client = context.getClient();
    String name = user.getMetadata().getName();
    String namespace = namespaceOf(user);
    OwnerReference owner =
        new OwnerReferenceBuilder()
            .withApiVersion(user.getApiVersion())
            .withKind(user.getKind())
            .withName(name)
            .withUid(user.getMetadata().getUid())
            .withBlockOwnerDeletion(false)
            .build();

    Namespace existing = client.namespaces().withName(namespace).get();
    // Never adopt: a namespace someone else made (no label, or another User's) stays theirs. An
    // administrator who prepares a namespace for a User labels it vmctl.dev/user=<name>.
    if (existing != null
        && (existing.getMetadata().getLabels() == null
            || !name.equals(existing.getMetadata().getLabels().get(USER_LABEL)))) {
      return status(
          user,
          client,
          namespace,
          false,
          Reasons.NAMESPACE_TAKEN,
          "Namespace " + namespace + " exists and does not belong to this user.");
    }
    Namespace desired =
        new NamespaceBuilder()
            .withNewMetadata()
            .withName(namespace)
            .withLabels(Map.of(USER_LABEL, name))
            .withOwnerReferences(owner)
            .endMetadata()
            .build();
    client.namespaces().resource(desired).fieldManager(MANAGER).forceConflicts().serverSideApply();

    if (client.resources(Quota.class).inNamespace(namespace).withName("default").get() == null) {
      Quota quota = new Quota();
      quota.getMetadata().setName("default");
      quota.getMetadata().setNamespace(namespace);
      quota.getMetadata().setLabels(Map.of(USER_LABEL, name));
      Quota.Spec spec = new Quota.Spec();
      spec.hard = config.defaultQuota();
      quota.setSpec(spec);
      client.resource(quota).create();
    }

    RoleBinding binding =
        new RoleBindingBuilder()
            .withNewMetadata()
            .withName(CLUSTER_ROLE)
            .withNamespace(namespace)
            .withLabels(Map.of(USER_LABEL, name))
            .endMetadata()
            .withNewRoleRef()
            .withApiGroup("rbac.authorization.k8s.io")
            .withKind("ClusterRole")
            .withName(CLUSTER_ROLE)
            .endRoleRef()
            .addNewSubject()
            .withApiGroup("rbac.authorization.k8s.io")
            .withKind("User")
            .withName(identity(name))
            .endSubject()
            .build();
    client
        .rbac()
        .roleBindings()
        .resource(binding)
        .fieldManager(MANAGER)
        .forceConflicts()
        .serverSideApply();

    boolean disabled = user.getSpec() != null && Boolean.TRUE.equals(user.getSpec().disabled);
    return status(
        user,
        client,
        namespace,
        true,
        disabled ? Reasons.DISABLED : Reasons.PROVISIONED,
        disabled
            ? "Namespace "
                + namespace
                + " is ready; the user is disabled, so no new VMs are scheduled."
            : "Namespace " + namespace + " with its default Quota and access is ready.");
  }

  private UpdateControl<User> status(
      User user,
      KubernetesClient client,
      String namespace,
      boolean ready,
      String reason,
      String message) {
    User.Status current = user.getStatus() == null ? new User.Status() : user.getStatus();
    var conditions =
        Conditions.set(
            current.conditions,
            ConditionTypes.READY,
            ready,
            reason,
            message,
            user.getMetadata().getGeneration(),
            clock.instant());
    if (Objects.equals(current.namespace, ready ? namespace : current.namespace)
        && Objects.equals(current.observedGeneration, user.getMetadata().getGeneration())
        && Objects.equals(conditions, current.conditions)) {
      return UpdateControl.noUpdate();
    }
    User.Status status = new User.Status();
    status.namespace = ready ? namespace : current.namespace;
    status.conditions = conditions;
    status.observedGeneration = user.getMetadata().getGeneration();
    boolean news = !Conditions.sameReason(current.conditions, ConditionTypes.READY, reason);
    user.setStatus(status);
    client.resource(user).updateStatus();
    if (!ready && news) { // a failure: one Warning per reason, its count raised on repeats
      events.warning(user, reason, message);
    }
    return UpdateControl.noUpdate();
  }
}
