package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertifiedKey;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Certificates kept as {@code kubernetes.io/tls} Secrets ({@code tls.crt} = chain, leaf first;
 * {@code tls.key} = PKCS#8 key), so other tools (an Ingress, kubectl, cert inspection) read them as
 * usual. The names the certificate was ordered for are in an annotation.
 */
public final class TlsSecrets {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TlsSecrets.class);
  public static final String NAMES_ANNOTATION = "vmctl.dev/certificate-names";

  private final KubernetesClient client;
  private final String namespace;

  public TlsSecrets(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** The stored certificate, or empty when the Secret is missing or unreadable. */
  public Optional<CertifiedKey> load(CertificateRequest request) {
    Secret secret = client.secrets().inNamespace(namespace).withName(request.secretName()).get();
    if (secret == null || secret.getData() == null) {
      return Optional.empty();
    }
    try {
      String crt = decode(secret.getData().get("tls.crt"));
      String key = decode(secret.getData().get("tls.key"));
      String names =
          secret.getMetadata().getAnnotations() == null
              ? null
              : secret.getMetadata().getAnnotations().get(NAMES_ANNOTATION);
      List<String> stored = names == null ? request.domains() : List.of(names.split(","));
      return Optional.of(
          new CertifiedKey(Pem.parsePrivateKey(key), Pem.parseCertificates(crt), stored));
    } catch (IllegalArgumentException | NullPointerException e) {
      LOG.warn(
          "Secret {}/{} is not a readable TLS Secret ({}); a fresh certificate will replace it",
          namespace,
          request.secretName(),
          e.getClass().getSimpleName());
      return Optional.empty();
    }
  }

  /** Creates or replaces the Secret (server-side apply, so concurrent writers converge). */
  public void save(CertificateRequest request, CertifiedKey certificate) {
    Secret secret =
        new SecretBuilder()
            .withNewMetadata()
            .withName(request.secretName())
            .withNamespace(namespace)
            .withLabels(
                Map.of(
                    "app.kubernetes.io/part-of", "vmctl", "vmctl.dev/certificate", request.name()))
            .withAnnotations(Map.of(NAMES_ANNOTATION, String.join(",", certificate.names())))
            .endMetadata()
            .withType("kubernetes.io/tls")
            .withData(
                Map.of(
                    "tls.crt", encode(Pem.certificates(certificate.chain())),
                    "tls.key", encode(Pem.privateKey(certificate.key()))))
            .build();
    client.resource(secret).fieldManager("vmctl-https-gateway").forceConflicts().serverSideApply();
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.US_ASCII);
  }

  private static String encode(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }
}
