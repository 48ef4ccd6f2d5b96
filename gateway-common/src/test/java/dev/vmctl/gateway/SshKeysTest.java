package dev.vmctl.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Fingerprints are compared with what {@code ssh-keygen -lf} printed for the same keys. */
class SshKeysTest {
  static final String ED25519 =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhL2zlgpmgjVRYPrR/NLkOZzB2lhTmkqiVcJteZR/lU ada@laptop";
  static final String RSA =
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3nSB4ddc3pFKPgaPPxyLA6Sm7kXKvWumiBXl4n1MwtUQJeffFAwEDsE0"
          + "asg0c9gZNISXHs7xTNuTOub6DkpWq3OlrlvZQ5w5y7W4nNnVhMO+q//OdL85+xXW/f7mN/mf7kwFvmnqb5GDBBH"
          + "m/uhG/JypmbkoS1czn7S168driZgQEI2Z+DpZdEtHk0nsXK0FZq0bsioJNeNjeHykpJyEZ59JyN7AKUkC5jFgE+4"
          + "UbwvPyC8kUIXDiPgeiMa0CF0VOSlaDhjRVndPudG/OQQfqPGsdZZYNceGPw91meCUYNGBKXNtb0H38Pj4dqPr8M5"
          + "7wjjCTZhsn6H5rfiZqZohZ";

  @Test
  void matchesSshKeygen() {
    assertThat(SshKeys.fingerprint(ED25519))
        .contains("SHA256:7DBffoxVtvO9M8jopX94vs1c132iGUiyKMLFgPEc63A");
    assertThat(SshKeys.fingerprint(RSA))
        .contains("SHA256:CQM7UHMwA5LgXcUFhaiGWR9iPEW2SOLcdJjjPyDvFQs");
  }

  @Test
  void optionsAndWhitespaceAreIgnored() {
    assertThat(SshKeys.fingerprint("no-pty,from=\"10.0.0.1\"  " + ED25519 + "  \n"))
        .contains("SHA256:7DBffoxVtvO9M8jopX94vs1c132iGUiyKMLFgPEc63A");
  }

  @Test
  void malformedKeysHaveNoFingerprint() {
    assertThat(SshKeys.fingerprint("")).isEmpty();
    assertThat(SshKeys.fingerprint(null)).isEmpty();
    assertThat(SshKeys.fingerprint("ssh-ed25519")).isEmpty();
    assertThat(SshKeys.fingerprint("ssh-ed25519 not-base64!!")).isEmpty();
    // A valid blob under the wrong type name is not a key.
    assertThat(SshKeys.fingerprint(ED25519.replace("ssh-ed25519", "ssh-rsa"))).isEmpty();
    assertThat(SshKeys.fingerprint("ssh-rsa AAAA")).isEmpty();
  }
}
