package dev.vmctl.node.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class GuestSeedTest {
  private static final VmPlan PLAN =
      new VmPlan(
          "uid-1",
          "web",
          "user-ada",
          Path.of("/var/lib/vmctl/vms/uid-1"),
          "debian-12",
          1,
          4,
          1L << 30,
          4L << 30,
          10L << 30,
          "vt1",
          "52:54:00:12:34:56",
          "10.100.0.7",
          "10.100.0.1",
          24,
          42,
          10L << 30);

  private static Map<String, GuestSeed.File> files(List<String> keys) {
    return GuestSeed.files(PLAN, "10.100.0.7", keys, "vmctl", "t0k3n").stream()
        .collect(Collectors.toMap(GuestSeed.File::path, f -> f));
  }

  @Test
  void theSeedCarriesNetworkHostnameTokenAndKeys() {
    String key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM3CMeCjmH9mSvzd4Ja1Dke5sW2W3rR4sOCJq3Hp9e1x a@b";
    Map<String, GuestSeed.File> files = files(List.of(key));
    assertThat(files.get(GuestSeed.NETWORK).content())
        .isEqualTo("MAC=52:54:00:12:34:56\nADDRESS=10.100.0.7/24\nGATEWAY=10.100.0.1\nMTU=1500\n");
    assertThat(files.get(GuestSeed.BOOT).content()).isEqualTo("t0k3n\n");
    assertThat(files.get(GuestSeed.HOSTNAME).content()).isEqualTo("web\n");
    assertThat(files.get(GuestSeed.HOSTS).content()).contains("127.0.1.1 web\n");
    GuestSeed.File keys = files.get("/home/vmctl/.ssh/authorized_keys");
    assertThat(keys.content()).endsWith(key + "\n");
    assertThat(keys.mode()).isEqualTo(0600);
    assertThat(keys.userOwned()).isTrue();
    assertThat(files.get(GuestSeed.NETWORK).userOwned()).isFalse();
    assertThat(GuestSeed.readyLine("t0k3n")).isEqualTo("vmctl-ready t0k3n");
  }

  @Test
  void keysTheAgentWouldRefuseAreLeftOutNotWrittenAsOptionsOrExtraLines() {
    String good =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM3CMeCjmH9mSvzd4Ja1Dke5sW2W3rR4sOCJq3Hp9e1x";
    String content =
        files(
                List.of(
                    "command=\"/bin/sh\" " + good,
                    good + " a\nssh-rsa AAAA injected",
                    "not a key",
                    good))
            .get("/home/vmctl/.ssh/authorized_keys")
            .content();
    assertThat(content.lines().filter(l -> !l.startsWith("#"))).containsExactly(good);
  }
}
