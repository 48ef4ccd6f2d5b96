package dev.vmctl.https.acme;

import dev.vmctl.https.tls.CertifiedKey;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ACME order, start to finish: publish the challenges (HTTP-01 into {@link PendingHttp01},
 * DNS-01 through the {@link DnsProvider}), let the CA validate, finalize with a fresh key, and
 * always withdraw what was published. Logs names and statuses, never keys or key authorizations.
 */
public final class AcmeIssuer {
  private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class);

  private final Session session;
  private final KeyPair accountKey;
  private final Optional<String> email;
  private final PendingHttp01 http01;
  private final DnsProvider dns;
  private final DnsPropagation propagation;
  private final Duration timeout;
  private Account account;

  public AcmeIssuer(
      Session session,
      KeyPair accountKey,
      Optional<String> email,
      PendingHttp01 http01,
      DnsProvider dns,
      DnsPropagation propagation,
      Duration timeout) {
    this.session = session;
    this.accountKey = accountKey;
    this.email = email;
    this.http01 = http01;
    this.dns = dns;
    this.propagation = propagation;
    this.timeout = timeout;
  }

  /** Finds the account for our key, or registers it (ACME makes this idempotent). */
  synchronized Account account() throws AcmeException {
    if (account == null) {
      AccountBuilder builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
      email.ifPresent(builder::addEmail);
      account = builder.create(session);
      LOG.info("ACME account ready at {}", account.getLocation());
    }
    return account;
  }

  public synchronized CertifiedKey issue(CertificateRequest request)
      throws AcmeException, DnsProviderException, InterruptedException {
    Order order = account().newOrder().domains(request.domains()).create();
    LOG.info("ACME order for {} {} created", request.name(), request.domains());
    List<Runnable> withdraw = new ArrayList<>();
    try {
      List<Challenge> challenges = new ArrayList<>();
      List<String[]> records = new ArrayList<>();
      for (Authorization auth : order.getAuthorizations()) {
        if (auth.getStatus() == Status.VALID) {
          continue; // validated recently for this account: the CA reuses it
        }
        if (request.needsDns01()) {
          Dns01Challenge challenge = find(auth, Dns01Challenge.class);
          String fqdn = challenge.getRRName(auth.getIdentifier());
          String value = challenge.getDigest();
          dns.present(fqdn, value);
          withdraw.add(() -> cleanUp(fqdn, value));
          records.add(new String[] {fqdn, value});
          challenges.add(challenge);
        } else {
          Http01Challenge challenge = find(auth, Http01Challenge.class);
          http01.put(challenge.getToken(), challenge.getAuthorization());
          withdraw.add(() -> http01.remove(challenge.getToken()));
          challenges.add(challenge);
        }
      }
      for (String[] record : records) {
        propagation.await(record[0], record[1]);
      }
      for (Challenge challenge : challenges) {
        challenge.trigger();
      }
      for (Challenge challenge : challenges) {
        Status status = challenge.waitForCompletion(timeout);
        if (status != Status.VALID) {
          throw new AcmeException(
              "challenge "
                  + challenge.getType()
                  + " for "
                  + request.name()
                  + " ended "
                  + status
                  + problem(challenge.getError()));
        }
      }
      order.waitUntilReady(timeout);
      KeyPair domainKey = Keys.newEcKeyPair();
      order.execute(domainKey);
      Status status = order.waitForCompletion(timeout);
      if (status != Status.VALID) {
        throw new AcmeException(
            "order for " + request.name() + " ended " + status + problem(order.getError()));
      }
      var chain = order.getCertificate().getCertificateChain();
      LOG.info(
          "ACME certificate for {} issued, serial {}, valid until {}",
          request.name(),
          chain.get(0).getSerialNumber().toString(16),
          chain.get(0).getNotAfter().toInstant());
      return new CertifiedKey(domainKey.getPrivate(), chain, request.domains());
    } finally {
      withdraw.forEach(Runnable::run);
    }
  }

  private static <T extends Challenge> T find(Authorization auth, Class<T> type)
      throws AcmeException {
    return auth.findChallenge(type)
        .orElseThrow(
            () ->
                new AcmeException(
                    "the CA offers no " + type.getSimpleName() + " for " + auth.getIdentifier()));
  }

  private void cleanUp(String fqdn, String value) {
    try {
      dns.cleanUp(fqdn, value);
    } catch (DnsProviderException e) {
      LOG.warn("could not remove challenge record {}: {}", fqdn, e.getMessage());
    }
  }

  private static String problem(Optional<Problem> problem) {
    return problem.map(p -> ": " + p.getType() + " " + p.getDetail().orElse("")).orElse("");
  }
}
