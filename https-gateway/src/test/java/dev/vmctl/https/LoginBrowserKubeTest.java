package dev.vmctl.https;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.testkit.KubeApiServerExtension;
import dev.vmctl.testkit.KubeEnv;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A real browser (Debian's headless Chromium) walks the login flow: one-time URL → session cookie
 * set for the domain → redirected to the private VM's page, which it may now see.
 */
@ExtendWith(KubeApiServerExtension.class)
@Tag("kube")
class LoginBrowserKubeTest {
  private static GatewayFixture f;

  @BeforeAll
  static void start(KubeEnv env) throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/chromium"))) {
      throw new IllegalStateException("Chromium is missing: apt-get install chromium");
    }
    f = new GatewayFixture(env);
  }

  @AfterAll
  static void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  @Test
  void oneTimeLoginUrlLeadsTheBrowserToThePrivatePage() throws Exception {
    int port = f.gateway.httpsPort();
    String privatePage = "https://" + f.fqdn("priv") + ":" + port + "/headers";

    String before = dumpDom(Files.createTempDirectory(f.tmp, "profile"), privatePage);
    assertThat(before).contains("Private VM").doesNotContain("backend a");

    String login =
        "https://vm.localhost:"
            + port
            + "/__vmctl/login/"
            + f.login(f.ada)
            + "?next="
            + privatePage;
    String after = dumpDom(Files.createTempDirectory(f.tmp, "profile"), login);
    assertThat(after)
        .contains("backend a")
        .contains("x-vmctl-userid: " + f.ada)
        .doesNotContain("vmctl_session");

    // The same URL a second time (another browser): the token was used up.
    String replay = dumpDom(Files.createTempDirectory(f.tmp, "profile"), login);
    assertThat(replay).contains("Login link not valid").doesNotContain("backend a");
  }

  private static String dumpDom(Path profile, String url) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--ignore-certificate-errors",
                "--user-data-dir=" + profile,
                "--dump-dom",
                url));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(90, TimeUnit.SECONDS)) {
        throw new IllegalStateException("chromium did not finish");
      }
      return dom;
    } finally {
      p.destroyForcibly();
      p.descendants().forEach(ProcessHandle::destroyForcibly);
    }
  }
}
