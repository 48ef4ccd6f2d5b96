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

/** A golden base image that VM root volumes are cloned from. Cluster-scoped. */
@Group(Api.GROUP)
@Version(Api.VERSION)
@Kind("Image")
@Plural("images")
@Categories(Api.CATEGORY)
@AdditionalPrinterColumn(name = "Format", jsonPath = ".spec.format")
@AdditionalPrinterColumn(name = "Size", jsonPath = ".spec.size")
@AdditionalPrinterColumn(
    name = "Hosts",
    jsonPath = ".status.hosts",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class Image extends CustomResource<Image.Spec, Image.Status> {

  /** Disk image formats a host can import. */
  public enum Format {
    raw,
    qcow2
  }

  /** Where the image comes from and how to check it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Spec {
    @Required public Source source;

    @JsonPropertyDescription("raw or qcow2.")
    @Default("raw")
    public Format format;

    @JsonPropertyDescription("Virtual size of the root filesystem, such as 2Gi.")
    @Size(max = 32)
    @ValidationRule(value = "isQuantity(self)", message = "size must be a quantity such as 2Gi")
    public String size;

    @JsonPropertyDescription("Expected SHA-256 of the image file, 64 lowercase hex digits.")
    @Pattern("^[a-f0-9]{64}$")
    public String sha256;

    @JsonPropertyDescription("What is in the image, for people.")
    @Size(max = 1024)
    public String description;
  }

  /** Exactly one of url and path. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "has(self.url) != has(self.path)",
      message = "source needs exactly one of url and path")
  public static class Source {
    @JsonPropertyDescription("http(s) address hosts download the image from.")
    @Size(max = 2048)
    @ValidationRule(
        value = "self.startsWith('https://') || self.startsWith('http://')",
        message = "source.url must start with https:// or http://")
    public String url;

    @JsonPropertyDescription("Absolute path of the image file on every host.")
    @Size(max = 4096)
    @ValidationRule(value = "self.startsWith('/')", message = "source.path must be absolute")
    public String path;
  }

  /** Whether hosts can use the image. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Status {
    public List<Condition> conditions = new ArrayList<>();
    public Long observedGeneration;

    @JsonPropertyDescription("How many hosts have the image imported.")
    public Integer hosts;
  }
}
