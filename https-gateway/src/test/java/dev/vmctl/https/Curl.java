package dev.vmctl.https;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/** The real curl CLI against the gateway, resolving {@code *.vm.localhost} to loopback. */
final class Curl {
  /** One response: status, headers (lower-case names, "name: value" lines) and body. */
  record Response(int status, List<String> headers, String body, String httpVersion) {
    List<String> header(String name) {
      String prefix = name.toLowerCase(Locale.ROOT) + ":";
      return headers.stream()
          .filter(h -> h.toLowerCase(Locale.ROOT).startsWith(prefix))
          .map(h -> h.substring(prefix.length()).trim())
          .toList();
    }
  }

  private final Path caCert;
  private final int port;
  private final Path tmp;

  Curl(Path caCert, int port, Path tmp) {
    this.caCert = caCert;
    this.port = port;
    this.tmp = tmp;
  }

  Response get(String host, String path, String... extra) throws Exception {
    return run(host, path, List.of(extra));
  }

  Response run(String host, String path, List<String> extra) throws Exception {
    Path headers = Files.createTempFile(tmp, "h", ".txt");
    Path body = Files.createTempFile(tmp, "b", ".txt");
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "60"));
    cmd.addAll(
        List.of("--cacert", caCert.toString(), "--resolve", host + ":" + port + ":127.0.0.1"));
    cmd.addAll(List.of("-D", headers.toString(), "-o", body.toString(), "-w", "%{http_version}"));
    cmd.addAll(extra);
    cmd.add("https://" + host + ":" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("curl timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException("curl exited " + p.exitValue() + ": " + out);
    }
    List<String> lines = Files.readAllLines(headers);
    // Only the last response's headers (after a 100 Continue there are two blocks).
    int start = 0;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith("HTTP/")) {
        start = i;
      }
    }
    String statusLine = lines.get(start);
    int status = Integer.parseInt(statusLine.split(" ")[1].trim());
    List<String> hs =
        lines.subList(start + 1, lines.size()).stream().filter(l -> !l.isBlank()).toList();
    String text =
        Files.size(body) < 1_000_000 ? Files.readString(body) : "<" + Files.size(body) + " bytes>";
    Files.delete(headers);
    Files.delete(body);
    return new Response(status, hs, text, out.trim());
  }
}
