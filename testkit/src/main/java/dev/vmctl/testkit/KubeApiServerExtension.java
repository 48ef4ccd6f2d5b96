package dev.vmctl.testkit;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives a test class a real kube-apiserver (one per test JVM, started on first use, with the
 * project's CRDs from {@code crds/} installed) and a namespace of its own, deleted afterwards.
 * Inject {@link KubeEnv} or {@link KubernetesClient} as parameters.
 */
public final class KubeApiServerExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
  private static final ExtensionContext.Namespace STORE =
      ExtensionContext.Namespace.create(KubeApiServerExtension.class);
  private static KubeApiServer shared;

  /** The JVM-wide server, started on first use and stopped when the JVM exits. */
  public static synchronized KubeApiServer sharedServer() {
    if (shared == null) {
      try {
        Path dir = Files.createTempDirectory("vmctl-kube-");
        KubeApiServer server = KubeApiServer.start(KubeBinaries.locate(), dir, 0);
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(
                    () -> {
                      server.close();
                      deleteRecursively(dir);
                    }));
        try (KubernetesClient admin = server.adminClient()) {
          installCrds(admin, crdDirectory());
        }
        shared = server;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return shared;
  }

  static Path crdDirectory() {
    String configured = System.getProperty("vmctl.crds");
    Path dir = configured != null ? Path.of(configured) : Path.of("crds");
    if (!Files.isDirectory(dir)) {
      dir = Path.of("..", "crds");
    }
    return dir;
  }

  /** Applies every CRD in {@code dir} and waits until each is Established. */
  public static void installCrds(KubernetesClient client, Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files =
          list.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml"))
              .filter(p -> !p.getFileName().toString().equals("kustomization.yaml"))
              .sorted()
              .toList();
    }
    for (Path file : files) {
      try (InputStream in = Files.newInputStream(file)) {
        for (HasMetadata item : client.load(in).items()) {
          CustomResourceDefinition crd = (CustomResourceDefinition) item;
          client.resource(crd).forceConflicts().serverSideApply();
          client
              .apiextensions()
              .v1()
              .customResourceDefinitions()
              .withName(crd.getMetadata().getName())
              .waitUntilCondition(
                  c ->
                      c != null
                          && c.getStatus() != null
                          && c.getStatus().getConditions() != null
                          && c.getStatus().getConditions().stream()
                              .anyMatch(
                                  cond ->
                                      "Established".equals(cond.getType())
                                          && "True".equals(cond.getStatus())),
                  60,
                  TimeUnit.SECONDS);
        }
      }
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    KubeApiServer server = sharedServer();
    String namespace =
        ("t-"
                + context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT)
                + "-"
                + UUID.randomUUID().toString().substring(0, 6))
            .replaceAll("[^a-z0-9-]", "-");
    if (namespace.length() > 63) {
      namespace = namespace.substring(namespace.length() - 63).replaceFirst("^-+", "t");
    }
    Config config = server.adminConfig();
    config.setNamespace(namespace);
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    client
        .namespaces()
        .resource(
            new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build())
        .create();
    context.getStore(STORE).put(KubeEnv.class, new KubeEnv(server, client, namespace));
  }

  @Override
  public void afterAll(ExtensionContext context) {
    KubeEnv env = context.getStore(STORE).remove(KubeEnv.class, KubeEnv.class);
    if (env != null) {
      env.client().namespaces().withName(env.namespace()).delete();
      env.client().close();
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == KubeEnv.class || type == KubernetesClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    KubeEnv env = env(context);
    return parameter.getParameter().getType() == KubeEnv.class ? env : env.client();
  }

  private static KubeEnv env(ExtensionContext context) {
    for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
      KubeEnv env = c.getStore(STORE).get(KubeEnv.class, KubeEnv.class);
      if (env != null) {
        return env;
      }
    }
    throw new IllegalStateException("KubeApiServerExtension has not run for this class");
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort at JVM exit
    }
  }
}
