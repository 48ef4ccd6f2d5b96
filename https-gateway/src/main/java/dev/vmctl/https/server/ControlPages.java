package dev.vmctl.https.server;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Access;
import dev.vmctl.gateway.Directory;
import dev.vmctl.https.Domain;
import dev.vmctl.https.access.Cookies;
import dev.vmctl.https.access.SafeRedirect;
import dev.vmctl.https.access.Sessions;
import dev.vmctl.https.access.Visitor;
import dev.vmctl.https.access.WebAccess;
import dev.vmctl.https.routing.Route;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The gateway's own paths ({@code /__vmctl/login|logout|share}) and the landing page on the bare
 * domain. Everything here answers locally; nothing reaches a VM.
 */
public final class ControlPages {
  public static final String PREFIX = "/__vmctl/";

  private final Domain domain;
  private final Sessions sessions;
  private final WebAccess access;
  private final Directory directory;
  private final Clock clock;
  private final String loginCommand;

  /**
   * @param loginCommand the command that prints a login link, with the gateway's real address
   *     ({@code ssh -p 2222 localhost login})
   */
  public ControlPages(
      Domain domain,
      Sessions sessions,
      WebAccess access,
      Directory directory,
      Clock clock,
      String loginCommand) {
    this.loginCommand = loginCommand;
    this.domain = domain;
    this.sessions = sessions;
    this.access = access;
    this.directory = directory;
    this.clock = clock;
  }

  /** The command that prints a login link, e.g. {@code ssh -p 2222 localhost login}. */
  public String loginCommand() {
    return loginCommand;
  }

  /** Answers {@code /__vmctl/...} on any host of the domain. */
  public FullHttpResponse control(
      ByteBufAllocator alloc, String host, String uri, List<String> cookieHeaders) {
    QueryStringDecoder query = new QueryStringDecoder(uri);
    String path = query.path();
    if (path.startsWith(PREFIX + "login/")) {
      return login(alloc, path.substring((PREFIX + "login/").length()), first(query, "next"));
    }
    if (path.equals(PREFIX + "logout")) {
      return logout(alloc, cookieHeaders);
    }
    if (path.startsWith(PREFIX + "share/")) {
      return share(alloc, host, path.substring((PREFIX + "share/").length()));
    }
    return Pages.page(alloc, HttpResponseStatus.NOT_FOUND, "Not found", "No such gateway page.");
  }

  private FullHttpResponse login(ByteBufAllocator alloc, String token, String next) {
    return sessions
        .redeem(token)
        .map(
            session -> {
              FullHttpResponse r = Pages.redirect(alloc, SafeRedirect.target(next, domain));
              r.headers()
                  .add(
                      HttpHeaderNames.SET_COOKIE,
                      Cookies.session(session, domain.host(), Sessions.SESSION_TTL.toSeconds()));
              return r;
            })
        .orElseGet(
            () ->
                Pages.page(
                    alloc,
                    HttpResponseStatus.FORBIDDEN,
                    "Login link not valid",
                    "This login link is expired, already used or not genuine."
                        + " Run '"
                        + loginCommand
                        + "' again for a new one."));
  }

  private FullHttpResponse logout(ByteBufAllocator alloc, List<String> cookieHeaders) {
    String session = Cookies.parse(cookieHeaders).get(Cookies.SESSION);
    if (session != null) {
      sessions.revoke(session);
    }
    FullHttpResponse r =
        Pages.page(alloc, HttpResponseStatus.OK, "Signed out", "You are signed out.");
    r.headers().add(HttpHeaderNames.SET_COOKIE, Cookies.clearSession(domain.host()));
    return r;
  }

  private FullHttpResponse share(ByteBufAllocator alloc, String host, String token) {
    Route route = domain.vmName(host).map(this::route).orElse(null);
    VirtualMachine vm = vmOf(route);
    if (vm == null || !access.validLink(vm, token)) {
      return Pages.page(
          alloc,
          HttpResponseStatus.FORBIDDEN,
          "Share link not valid",
          "This share link was revoked, has expired or does not belong to this site.");
    }
    FullHttpResponse r = Pages.redirect(alloc, "/");
    r.headers().add(HttpHeaderNames.SET_COOKIE, Cookies.link(token));
    return r;
  }

  /** The bare domain: the signed-in person's VMs and the VMs shared with them. */
  public FullHttpResponse landing(ByteBufAllocator alloc, Visitor visitor) {
    if (!visitor.signedIn()) {
      return Pages.page(
          alloc,
          HttpResponseStatus.OK,
          "vmctl",
          "You are not signed in. Run '" + loginCommand + "' and open the link it prints.");
    }
    List<String[]> links = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>();
    for (VirtualMachine vm : directory.vmsOf(visitor.user())) {
      add(links, seen, vm, "");
    }
    for (Share share : directory.sharesWithEmail(visitor.email())) {
      directory
          .vm(share.getMetadata().getNamespace(), share.getSpec().vm)
          .filter(vm -> Access.appliesTo(share, vm, clock.instant()))
          .ifPresent(vm -> add(links, seen, vm, " (shared with you)"));
    }
    return Pages.list(alloc, "Your VMs", "Signed in as " + visitor.email() + ".", links);
  }

  private void add(List<String[]> links, Set<String> seen, VirtualMachine vm, String note) {
    String name = vm.getMetadata().getName();
    // Only the oldest VM of a name owns its hostname (docs/gateways.md decision 4).
    List<VirtualMachine> named = directory.vmsNamed(name);
    if (named.isEmpty() || named.get(0) != vm && !same(named.get(0), vm)) {
      return;
    }
    if (seen.add(vm.getMetadata().getNamespace() + "/" + name)) {
      links.add(new String[] {domain.vmUrl(name), name + note});
    }
  }

  private static boolean same(VirtualMachine a, VirtualMachine b) {
    return a.getMetadata().getUid() != null
        && a.getMetadata().getUid().equals(b.getMetadata().getUid());
  }

  private Route route(String vmName) {
    return Route.of(vmName, directory.vmsNamed(vmName), directory::addressIsUnique);
  }

  private static VirtualMachine vmOf(Route route) {
    if (route instanceof Route.Backend b) {
      return b.vm();
    }
    if (route instanceof Route.Unavailable u) {
      return u.vm();
    }
    return null;
  }

  private static String first(QueryStringDecoder query, String name) {
    List<String> values = query.parameters().get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
