package dev.vmctl.https.routing;

import dev.vmctl.gateway.Directory;

/** Routes from the informer cache: no API call per request. */
public final class Routes {
  private final Directory directory;

  public Routes(Directory directory) {
    this.directory = directory;
  }

  public Route forVm(String name) {
    return Route.of(name, directory.vmsNamed(name), directory::addressIsUnique);
  }
}
