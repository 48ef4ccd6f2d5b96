package dev.vmctl.node.model;

import java.nio.file.Path;

/**
 * Everything the host needs for one VM, computed purely from the VM and the node's settings.
 *
 * @param id stable host-side id (from the VM's uid), used for directories and device names
 * @param dir the VM's state directory: volumes, sockets, pid files, console log
 * @param tap the TAP device name (at most 15 characters)
 * @param rootDiskBytes the root volume's size: the image's clone is grown to it (0: as the image)
 */
public record VmPlan(
    String id,
    String name,
    String namespace,
    Path dir,
    String image,
    long cpus,
    long maxCpus,
    long memoryBytes,
    long maxMemoryBytes,
    long diskBytes,
    String tap,
    String mac,
    String ipAddress,
    String gateway,
    int prefix,
    long vsockCid,
    long rootDiskBytes) {

  /** A plan whose root volume stays the size of its image. */
  public VmPlan(
      String id,
      String name,
      String namespace,
      Path dir,
      String image,
      long cpus,
      long maxCpus,
      long memoryBytes,
      long maxMemoryBytes,
      long diskBytes,
      String tap,
      String mac,
      String ipAddress,
      String gateway,
      int prefix,
      long vsockCid) {
    this(
        id,
        name,
        namespace,
        dir,
        image,
        cpus,
        maxCpus,
        memoryBytes,
        maxMemoryBytes,
        diskBytes,
        tap,
        mac,
        ipAddress,
        gateway,
        prefix,
        vsockCid,
        0);
  }

  public Path rootVolume() {
    return dir.resolve("root.img");
  }

  public Path dataVolume() {
    return dir.resolve("data.img");
  }

  public Path vsockSocket() {
    return dir.resolve("vsock.sock");
  }

  public Path apiSocket() {
    return dir.resolve("api.sock");
  }

  public Path consoleLog() {
    return dir.resolve("console.log");
  }
}
