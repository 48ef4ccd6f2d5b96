package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.List;

/** A person who uses vmctl through the gateways. Cluster-scoped. */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("User")
@Plural("users")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(name = "Email", jsonPath = ".spec.email")
@AdditionalPrinterColumn(name = "Namespace", jsonPath = ".status.namespace")
@AdditionalPrinterColumn(
    name = "Disabled",
    jsonPath = ".spec.disabled",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class User extends CustomResource<User.Spec, User.Status> {

  /** Who the person is and how they sign in. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Spec {
    @JsonPropertyDescription("The person's email address; shares and sign-ins use it.")
    @Required
    @Size(min = 3, max = 254)
    @ValidationRule(
        value = "self.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$')",
        message = "email must be an address such as ada@example.com")
    public String email;

    @JsonPropertyDescription("OpenSSH public keys the SSH gateway accepts for this user.")
    @ValidationRule(value = Api.SSH_KEYS_RULE, message = Api.SSH_KEYS_MESSAGE)
    @Size(max = 64)
    public List<@Size(max = 8192) String> sshKeys;

    @JsonPropertyDescription(
        "The namespace that holds the user's VMs; when absent the operator uses user-<name>."
            + " Cannot be changed once set.")
    @Size(max = 63)
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @ValidationRule(value = "self == oldSelf", message = "namespace cannot be changed once set")
    public String namespace;

    @JsonPropertyDescription("true stops new VMs from being scheduled for the user.")
    @Default("false")
    public Boolean disabled;
  }

  /** What the operator provisioned. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Status {
    @JsonPropertyDescription("The namespace the operator provisioned for the user.")
    public String namespace;

    public List<Condition> conditions = new ArrayList<>();
    public Long observedGeneration;
  }
}
