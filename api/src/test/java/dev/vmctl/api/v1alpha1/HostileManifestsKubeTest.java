package dev.vmctl.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hostile-tenant table of manifests (src/test/resources/hostile-manifests.yaml): what a tenant
 * may send, and the sentence the real API server answers. Each row is created with kubectl as a
 * user would; rejected rows must leave nothing behind.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class HostileManifestsKubeTest {
  /** One row of the table. */
  record Row(String name, String manifest, String message, boolean accept) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Row> rows() throws IOException {
    try (InputStream in =
        HostileManifestsKubeTest.class.getResourceAsStream("/hostile-manifests.yaml")) {
      List<Row> rows = new ObjectMapper(new YAMLFactory()).readValue(in, new TypeReference<>() {});
      return rows.stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void answersAsTheTableSays(Row row, KubeEnv env) {
    String manifest = "apiVersion: vmctl.dev/v1alpha1\n" + row.manifest();
    KubeEnv.Result result = env.kubectlWithInput(manifest, "create", "-f", "-");
    if (row.accept()) {
      assertThat(result.ok()).as(result.stderr()).isTrue();
      return;
    }
    assertThat(result.ok()).as("accepted: " + manifest).isFalse();
    assertThat(result.stderr()).contains(row.message());
  }
}
