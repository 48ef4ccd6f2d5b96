package dev.vmctl.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalSelectableField;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.List;

/** Grants access to one VM: to a person by email, to whoever holds a secret link, or to all. */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("Share")
@Plural("shares")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(name = "VM", jsonPath = ".spec.vm")
@AdditionalPrinterColumn(name = "Email", jsonPath = ".spec.email")
@AdditionalPrinterColumn(
    name = "Link",
    jsonPath = ".spec.link",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "Public",
    jsonPath = ".spec.public",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Expires", jsonPath = ".spec.expiresAt")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
@AdditionalSelectableField(jsonPath = ".spec.vm")
public class Share extends CustomResource<Share.Spec, Share.Status> implements Namespaced {

  /** Label on the Secret holding a link share's token. */
  public static final String SHARE_LABEL = Api.GROUP + "/share";

  /** Which VM, and to whom. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value =
          "(has(self.email) ? 1 : 0) + (has(self.link) && self.link ? 1 : 0)"
              + " + (has(self.public) && self.public ? 1 : 0) == 1",
      message =
          "a Share grants access in exactly one way: set email, or link: true, or public: true")
  public static class Spec {
    @JsonPropertyDescription("Name of the VirtualMachine, in this namespace. Cannot be changed.")
    @Required
    @Size(min = 1, max = 253)
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @ValidationRule(value = "self == oldSelf", message = "vm cannot be changed; create a new Share")
    public String vm;

    @JsonPropertyDescription("Share with the person who signs in with this email.")
    @Size(max = 254)
    @ValidationRule(
        value = "self.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$')",
        message = "email must be an address such as ada@example.com")
    public String email;

    @JsonPropertyDescription(
        "Share with whoever holds a secret link; the token lives in a Secret owned by the"
            + " Share.")
    public Boolean link;

    @JsonPropertyDescription("Share with everyone, no sign-in needed.")
    @JsonProperty("public")
    public Boolean isPublic;

    @JsonPropertyDescription("RFC 3339 time after which the Share no longer grants access.")
    @Size(max = 64)
    @ValidationRule(
        value =
            "self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?"
                + "(Z|[+-][0-9]{2}:[0-9]{2})$')",
        message = "expiresAt must be an RFC 3339 time such as 2026-12-31T23:59:59Z")
    public String expiresAt;
  }

  /** Whether the Share is in force, and the link to hand out. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Status {
    @JsonPropertyDescription("Ready is True while the Share grants access.")
    public List<Condition> conditions = new ArrayList<>();

    public Long observedGeneration;

    @JsonPropertyDescription(
        "For link shares: the address to hand out, without its token; the full link is in the"
            + " Secret named by secretName.")
    public String url;

    @JsonPropertyDescription("For link shares: the Secret holding the token and the full link.")
    public String secretName;

    @JsonPropertyDescription(
        "The uid of the VM this Share was bound to when it first applied. It never applies to"
            + " another VM, even one given the same name later.")
    public String vmUid;
  }
}
