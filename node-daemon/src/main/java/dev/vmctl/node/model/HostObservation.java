package dev.vmctl.node.model;

import java.time.Instant;

/**
 * What the node daemon measured of one VM on this host at the start of a pass: the only input of
 * {@link VmLifecycle#decide} besides the VM itself.
 *
 * @param identityHeld the address and CID in status are this VM's claim on this host
 * @param running its hypervisor process is alive
 * @param bootedWith the size the current boot has ("2 CPUs and 2048Mi"), null when not recorded
 * @param poweredOffCleanly the serial console says the guest powered itself off
 * @param lastStart when the hypervisor was last started (EPOCH when never)
 * @param crashes crashes counted since the last successful boot
 * @param stopRequestedAt when the guest was asked to power off in a stop still under way, or null
 * @param now this pass's time, from the daemon's clock
 */
public record HostObservation(
    boolean identityHeld,
    boolean running,
    String bootedWith,
    boolean poweredOffCleanly,
    Instant lastStart,
    int crashes,
    Instant stopRequestedAt,
    Instant now) {}
