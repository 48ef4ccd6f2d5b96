package dev.vmctl.https.acme;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * DNS-01 through a webhook: {@code POST <url>} with {@code {"action":"present"|"cleanup",
 * "fqdn":"_acme-challenge.example.com.","value":"<digest>"}} and, when configured, {@code
 * Authorization: Bearer <token>}. Any 2xx means done; anything else fails the attempt with the
 * status and the start of the body (never the token).
 */
public final class WebhookDnsProvider implements DnsProvider {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BODY_IN_ERROR = 200;

  private final URI url;
  private final Optional<String> bearerToken;
  private final Duration timeout;
  private final HttpClient http;

  public WebhookDnsProvider(URI url, Optional<String> bearerToken, Duration timeout) {
    if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme())) {
      throw new IllegalArgumentException("DNS webhook URL must be http(s), got " + url);
    }
    this.url = url;
    this.bearerToken = bearerToken.filter(t -> !t.isBlank());
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  @Override
  public void present(String fqdn, String value) throws DnsProviderException {
    call("present", fqdn, value);
  }

  @Override
  public void cleanUp(String fqdn, String value) throws DnsProviderException {
    call("cleanup", fqdn, value);
  }

  private void call(String action, String fqdn, String value) throws DnsProviderException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body(action, fqdn, value)));
    bearerToken.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new DnsProviderException(
          "DNS webhook "
              + url
              + " ("
              + action
              + " "
              + fqdn
              + ") failed (unreachable or timed out): "
              + e,
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DnsProviderException("interrupted calling DNS webhook " + url, e);
    }
    if (response.statusCode() / 100 != 2) {
      String text = response.body();
      throw new DnsProviderException(
          "DNS webhook "
              + url
              + " answered "
              + response.statusCode()
              + " to "
              + action
              + " "
              + fqdn
              + ": "
              + text.substring(0, Math.min(text.length(), BODY_IN_ERROR)));
    }
  }

  static String body(String action, String fqdn, String value) {
    try {
      return JSON.writeValueAsString(Map.of("action", action, "fqdn", fqdn, "value", value));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
