package dev.vmctl.https.acme;

import com.sun.net.httpserver.HttpServer;
import dev.vmctl.https.tls.CertifiedKey;
import dev.vmctl.https.tls.SwappableCertificates;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.shredzone.acme4j.Session;

/**
 * Prints certificate figures (run by hack/bench-certs.sh): local CA start-up, per-handshake lookup
 * cost, and ACME issuance time against a local Pebble (no network, no validation sleep, so this is
 * our overhead plus Pebble's, not a public CA's).
 */
public final class CertificatesBench {
  public static void main(String[] args) throws Exception {
    Path work = Files.createTempDirectory("vmctl-certs-bench");
    localCa(work);
    lookups(work);
    acme(work, Integer.getInteger("issuances", 5));
  }

  private static void localCa(Path work) throws Exception {
    List<Double> cold = new ArrayList<>();
    List<Double> warm = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Path dir = work.resolve("ca" + i);
      long t = System.nanoTime();
      LocalCa.open(dir, "vm.localhost");
      cold.add(ms(t));
      t = System.nanoTime();
      LocalCa.open(dir, "vm.localhost");
      warm.add(ms(t));
    }
    print("local CA first start (CA + leaf created)", cold);
    print("local CA restart (both loaded)", warm);
  }

  private static void lookups(Path work) throws Exception {
    CertifiedKey leaf =
        LocalCa.open(work.resolve("lookup"), "vm.localhost").forServerName("vm.localhost").get();
    for (int certs : new int[] {1, 100}) {
      SwappableCertificates store = new SwappableCertificates();
      for (int i = 0; i < certs - 1; i++) {
        store.put(
            "c" + i, new CertifiedKey(leaf.key(), leaf.chain(), List.of("h" + i + ".example.com")));
      }
      store.put("wildcard", leaf);
      int n = 2_000_000;
      long found = 0;
      for (int round = 0; round < 2; round++) { // the first round warms the JIT
        long t = System.nanoTime();
        for (int i = 0; i < n; i++) {
          found += store.forServerName("web-" + (i & 7) + ".vm.localhost").isPresent() ? 1 : 0;
        }
        if (round == 1) {
          System.out.printf(
              "forServerName, %d certificate(s), wildcard hit: %.0f ns/lookup (%d found)%n",
              certs, (System.nanoTime() - t) / (double) n, found);
        }
      }
    }
  }

  private static void acme(Path work, int issuances) throws Exception {
    PendingHttp01 http01 = new PendingHttp01();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/.well-known/acme-challenge/",
        exchange -> {
          String token = exchange.getRequestURI().getPath().replaceFirst(".*/", "");
          byte[] body =
              http01.keyAuthorization(token).orElse("").getBytes(StandardCharsets.US_ASCII);
          exchange.sendResponseHeaders(
              body.length > 0 ? 200 : 404, body.length > 0 ? body.length : -1);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    try (PebbleServer pebble = new PebbleServer(work, server.getAddress().getPort())) {
      DnsProvider challtest =
          new DnsProvider() {
            @Override
            public void present(String fqdn, String value) throws DnsProviderException {
              call("/set-txt", "{\"host\":\"" + fqdn + "\",\"value\":\"" + value + "\"}");
            }

            @Override
            public void cleanUp(String fqdn, String value) throws DnsProviderException {
              call("/clear-txt", "{\"host\":\"" + fqdn + "\"}");
            }

            private void call(String path, String json) throws DnsProviderException {
              try {
                pebble.challtest(path, json);
              } catch (Exception e) {
                throw new DnsProviderException(e.toString(), e);
              }
            }
          };
      AcmeIssuer issuer =
          new AcmeIssuer(
              new Session(pebble.directory()),
              Keys.newEcKeyPair(),
              Optional.empty(),
              http01,
              challtest,
              new DnsPropagation(
                  List.of(pebble.dnsResolver()),
                  java.time.Duration.ZERO,
                  java.time.Duration.ofSeconds(10)),
              java.time.Duration.ofSeconds(30));
      long t = System.nanoTime();
      issuer.account();
      System.out.printf("ACME account registration: %.0f ms%n", ms(t));
      List<Double> single = new ArrayList<>();
      List<Double> wildcard = new ArrayList<>();
      for (int i = 0; i < issuances; i++) {
        t = System.nanoTime();
        issuer.issue(new CertificateRequest("b", List.of("bench-" + i + ".example.test")));
        single.add(ms(t));
        t = System.nanoTime();
        issuer.issue(CertificateRequest.wildcard("w" + i + ".example.test"));
        wildcard.add(ms(t));
      }
      print("ACME issuance, one name, HTTP-01 (Pebble, local)", single);
      print(
          "ACME issuance, wildcard + base, DNS-01 incl. propagation check (Pebble, local)",
          wildcard);
    } finally {
      server.stop(0);
    }
  }

  private static double ms(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }

  private static void print(String what, List<Double> samples) {
    List<Double> sorted = new ArrayList<>(samples);
    Collections.sort(sorted);
    System.out.printf(
        "%s: p50 %.0f ms, max %.0f ms (n=%d)%n",
        what, sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), sorted.size());
  }
}
