package dev.vmctl.https.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.https.tls.ServerNames;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure decisions: when to renew, how long to back off, what a request and a name mean. */
class PolicyTest {
  @Test
  void renewsWithAThirdOfTheLifetimeLeft() {
    Instant from = Instant.parse("2026-01-01T00:00:00Z");
    Instant to = from.plus(Duration.ofDays(90));
    assertThat(RenewalPolicy.DEFAULT.renewAt(from, to)).isEqualTo(from.plus(Duration.ofDays(60)));
    assertThatThrownBy(() -> new RenewalPolicy(1.5)).hasMessageContaining("between 0 and 1");
  }

  @Test
  void backoffDoublesUpToTheCap() {
    Backoff b = new Backoff(Duration.ofMinutes(1), Duration.ofMinutes(10));
    assertThat(List.of(b.delay(1), b.delay(2), b.delay(4), b.delay(5), b.delay(500)))
        .containsExactly(
            Duration.ofMinutes(1),
            Duration.ofMinutes(2),
            Duration.ofMinutes(8),
            Duration.ofMinutes(10),
            Duration.ofMinutes(10));
  }

  @Test
  void parsesCertificateListsAndRejectsNonsense() {
    assertThat(
            CertificateRequest.parseList(
                "wildcard=*.vm.example.com,vm.example.com;login=login.example.com"))
        .containsExactly(
            new CertificateRequest("wildcard", List.of("*.vm.example.com", "vm.example.com")),
            new CertificateRequest("login", List.of("login.example.com")));
    assertThat(CertificateRequest.wildcard("vm.example.com").needsDns01()).isTrue();
    assertThat(new CertificateRequest("a", List.of("a.example.com")).needsDns01()).isFalse();
    assertThatThrownBy(() -> CertificateRequest.parseList("nodomains"))
        .hasMessageContaining("not name=dns1,dns2");
    assertThatThrownBy(() -> CertificateRequest.parseList("x=bad_name.com"))
        .hasMessageContaining("not a DNS name");
    assertThatThrownBy(() -> CertificateRequest.parseList("x=a.com;x=b.com"))
        .hasMessageContaining("twice");
  }

  @Test
  void wildcardsCoverOneLabel() {
    assertThat(ServerNames.covers("*.vm.example.com", "web.vm.example.com")).isTrue();
    assertThat(ServerNames.covers("*.vm.example.com", "vm.example.com")).isFalse();
    assertThat(ServerNames.covers("*.vm.example.com", "a.web.vm.example.com")).isFalse();
    assertThat(ServerNames.covers("vm.example.com", "VM.example.com")).isTrue();
  }

  @Test
  void durationsFromTheEnvironment() {
    assertThat(CertificateSources.duration(Map.of("K", "90s"), "K", "1h"))
        .isEqualTo(Duration.ofSeconds(90));
    assertThat(CertificateSources.duration(Map.of(), "K", "6h")).isEqualTo(Duration.ofHours(6));
    assertThatThrownBy(() -> CertificateSources.duration(Map.of("K", "soon"), "K", "1h"))
        .hasMessageContaining("K='soon'");
  }
}
