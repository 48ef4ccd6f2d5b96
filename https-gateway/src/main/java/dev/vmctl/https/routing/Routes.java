package dev.vmctl.https.routing;

import dev.vmctl.gateway.Directory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Routes from the informer cache: no API call per request, and no lookup either while nothing
 * changed. The route of a name depends only on the VMs, Users and Shares the informers hold, so it
 * is kept until the next change of any of them (then the whole map is replaced: a request that
 * computed its route from the state before the change puts it into the map being dropped). Looking
 * up, sorting and checking a name's VMs was 2-6 % of the gateway's time per request
 * (docs/benchmarks.md, "Profile, 2026-12-02").
 */
public final class Routes {
  /** Host names come from clients: names of no VM are not kept, and the map is bounded. */
  static final int MAX_KEPT = 4096;

  private final Directory directory;
  private volatile Map<String, Route> kept = new ConcurrentHashMap<>();

  public Routes(Directory directory) {
    this.directory = directory;
    directory.onChange(() -> kept = new ConcurrentHashMap<>());
  }

  public Route forVm(String name) {
    Map<String, Route> current = kept;
    Route route = current.get(name);
    if (route == null) {
      route = Route.of(name, directory.vmsNamed(name), directory::addressIsUnique);
      if (!(route instanceof Route.Unknown) && current.size() < MAX_KEPT) {
        current.put(name, route);
      }
    }
    return route;
  }
}
