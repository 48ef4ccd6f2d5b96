package dev.vmctl.https.server;

import dev.vmctl.https.Domain;
import dev.vmctl.https.access.Sessions;
import dev.vmctl.https.access.WebAccess;
import dev.vmctl.https.routing.Routes;

/** What every request handler needs, shared by all connections. */
public record Gateway(
    Domain domain,
    Routes routes,
    Sessions sessions,
    WebAccess access,
    ControlPages control,
    BackendPool pool,
    GatewayMetrics metrics,
    Limits limits) {}
