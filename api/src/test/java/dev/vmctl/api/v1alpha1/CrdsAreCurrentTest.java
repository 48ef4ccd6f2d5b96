package dev.vmctl.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Fails when crds/ differs from what the Java types generate. With {@code -Dvmctl.crds.update=true}
 * (hack/update-crds.sh) it rewrites crds/ instead.
 */
class CrdsAreCurrentTest {

  @Test
  void committedCrdsMatchTheJavaTypes() throws IOException {
    Path dir = Path.of(System.getProperty("vmctl.crds", "../crds"));
    Map<String, String> generated = GeneratedCrds.render();
    if (Boolean.getBoolean("vmctl.crds.update")) {
      Files.createDirectories(dir);
      try (Stream<Path> old = Files.list(dir)) {
        for (Path p : old.toList()) {
          Files.delete(p);
        }
      }
      for (var entry : generated.entrySet()) {
        Files.writeString(dir.resolve(entry.getKey()), entry.getValue());
      }
      return;
    }
    TreeSet<String> committed = new TreeSet<>();
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        files.forEach(p -> committed.add(p.getFileName().toString()));
      }
    }
    assertThat(committed)
        .as("files in crds/ (run hack/update-crds.sh to regenerate)")
        .isEqualTo(new TreeSet<>(generated.keySet()));
    for (var entry : generated.entrySet()) {
      assertThat(Files.readString(dir.resolve(entry.getKey())))
          .as(
              "crds/%s is out of date with the Java types; run hack/update-crds.sh and commit"
                  + " the result",
              entry.getKey())
          .isEqualTo(entry.getValue());
    }
  }
}
