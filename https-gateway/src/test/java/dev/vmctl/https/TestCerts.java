package dev.vmctl.https;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A throw-away CA and leaf certificates made with the openssl CLI at test time. */
public final class TestCerts {
  final Path dir;
  public final Path caCert;

  private TestCerts(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.crt");
  }

  public static TestCerts create(Path dir) throws Exception {
    TestCerts certs = new TestCerts(dir);
    openssl(
        dir,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=vmctl test CA");
    return certs;
  }

  /** A leaf for {@code names} signed by the CA, written as tls.crt (leaf + CA) and tls.key. */
  public Path leaf(String dirName, int days, String... names) throws Exception {
    Path leafDir = Files.createDirectories(dir.resolve(dirName));
    StringBuilder san = new StringBuilder("subjectAltName=");
    for (int i = 0; i < names.length; i++) {
      san.append(i == 0 ? "" : ",").append("DNS:").append(names[i]);
    }
    Files.writeString(dir.resolve(dirName + ".ext"), san + "\n");
    openssl(
        dir,
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        dirName + "/tls.key",
        "-out",
        dirName + ".csr",
        "-subj",
        "/CN=" + names[0]);
    openssl(
        dir,
        "x509",
        "-req",
        "-in",
        dirName + ".csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        Integer.toString(days),
        "-extfile",
        dirName + ".ext",
        "-out",
        dirName + "/leaf.crt");
    Files.writeString(
        leafDir.resolve("tls.crt"),
        Files.readString(leafDir.resolve("leaf.crt")) + Files.readString(caCert));
    return leafDir;
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }
}
