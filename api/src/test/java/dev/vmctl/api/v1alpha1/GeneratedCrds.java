package dev.vmctl.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the CRD generator's output into the files committed under {@code crds/}. The generator
 * sorts printer columns by name; kubectl shows them in file order, so they are put back in the
 * order the annotations are declared (Phase, Node, IP, Ready, Age rather than Age first).
 */
final class GeneratedCrds {
  static final List<Class<? extends CustomResource<?, ?>>> TYPES =
      List.of(VirtualMachine.class, Share.class, Quota.class, Host.class, Image.class, User.class);

  private GeneratedCrds() {}

  /** File name under crds/ to its content, for every resource type. */
  static Map<String, String> render() throws IOException {
    Map<String, String> files = new LinkedHashMap<>();
    for (Class<? extends CustomResource<?, ?>> type : TYPES) {
      String name = CustomResource.getCRDName(type);
      CustomResourceDefinition crd = load(name);
      List<String> order =
          Arrays.stream(type.getAnnotationsByType(AdditionalPrinterColumn.class))
              .map(AdditionalPrinterColumn::name)
              .toList();
      crd.getSpec()
          .getVersions()
          .forEach(
              v -> {
                List<CustomResourceColumnDefinition> columns =
                    new ArrayList<>(v.getAdditionalPrinterColumns());
                columns.sort(Comparator.comparingInt(c -> order.indexOf(c.getName())));
                v.setAdditionalPrinterColumns(columns);
                defaultEmptySpec(v.getSchema().getOpenAPIV3Schema());
              });
      files.put(
          name + ".yaml",
          "# Generated from dev.vmctl.api.v1alpha1."
              + type.getSimpleName()
              + " by the build; do not edit.\n"
              + "# Regenerate with hack/update-crds.sh.\n"
              + Serialization.asYaml(crd));
    }
    StringBuilder kustomization =
        new StringBuilder(
            "# Generated with the CRDs by hack/update-crds.sh; do not edit.\n"
                + "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                + "kind: Kustomization\n"
                + "resources:\n");
    files.keySet().forEach(f -> kustomization.append("  - ").append(f).append('\n'));
    files.put("kustomization.yaml", kustomization.toString());
    return files;
  }

  /**
   * A spec whose fields are all optional defaults to {@code {}}: the API server applies defaults
   * only inside objects that exist, so without this a manifest with no spec at all (the minimal VM)
   * would be stored with a null spec instead of its defaults.
   */
  private static void defaultEmptySpec(JSONSchemaProps root) {
    JSONSchemaProps spec = root.getProperties().get("spec");
    if (spec != null && (spec.getRequired() == null || spec.getRequired().isEmpty())) {
      spec.setDefault(Serialization.jsonMapper().createObjectNode());
    }
  }

  private static CustomResourceDefinition load(String name) throws IOException {
    String resource = "META-INF/fabric8/" + name + "-v1.yml";
    try (InputStream in = GeneratedCrds.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " was not generated; run the build first");
      }
      return Serialization.unmarshal(in, CustomResourceDefinition.class);
    }
  }
}
