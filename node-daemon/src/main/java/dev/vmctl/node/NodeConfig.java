package dev.vmctl.node;

import dev.vmctl.node.model.Subnet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Node daemon settings, from environment variables (see docs/node-daemon.md).
 *
 * @param hostName VMCTL_NODE_NAME: this host's name (the Host resource and the VM label value)
 * @param stateDir VMCTL_STATE_DIR: VM directories (volumes, sockets, pid files); on the pool
 * @param pool VMCTL_STORAGE_POOL: where base images live ({@code images/<name>.raw})
 * @param storageDriver VMCTL_STORAGE_DRIVER: lvm-thin, btrfs or reflink (XFS)
 * @param hypervisor VMCTL_HYPERVISOR: qemu (cloud-hypervisor: see docs)
 * @param subnet VMCTL_VM_SUBNET: this host's VM subnet, e.g. 10.100.0.0/24
 * @param bridge VMCTL_BRIDGE: the bridge VMs attach to
 * @param netns VMCTL_NETNS: run bridge, TAPs and hypervisors in this network namespace
 * @param kernelDir VMCTL_KERNEL_DIR: vmlinux and initramfs.cpio.gz
 * @param qemu VMCTL_QEMU, vhostVsock VMCTL_VHOST_VSOCK: binaries
 * @param kvm VMCTL_KVM: true to use KVM
 * @param reservedCpus VMCTL_RESERVED_CPUS, reservedMemory VMCTL_RESERVED_MEMORY: kept for the host
 * @param heartbeat VMCTL_HEARTBEAT: how often the Host is refreshed
 * @param httpPort VMCTL_HTTP_PORT: /metrics and /healthz
 * @param sshUser VMCTL_GUEST_USER: the guest user whose authorized_keys the agent manages
 * @param lvmVolumeGroup VMCTL_LVM_VG, lvmThinPool VMCTL_LVM_THINPOOL: for the lvm-thin driver
 * @param cloudHypervisor VMCTL_CLOUD_HYPERVISOR: the cloud-hypervisor binary
 * @param gatewayNamespace VMCTL_GATEWAY_NAMESPACE: where the SSH gateway publishes its proxy key
 * @param hypervisorApiTimeout VMCTL_HYPERVISOR_API_TIMEOUT_SECONDS: deadline for connecting to a
 *     hypervisor's control socket (cloud-hypervisor's API, QEMU's QMP) and for each call on it
 * @param httpBindAddress VMCTL_HTTP_BIND_ADDRESS: the address /metrics and /healthz listen on (all
 *     addresses when empty); guests cannot reach it either way (the input filter)
 * @param cgroupRoot VMCTL_CGROUP_ROOT: the host's cgroup root (/sys/fs/cgroup; in the DaemonSet the
 *     host's, hostPath-mounted); each VM's processes run in {@code <parent>/<vm-id>} there. Empty:
 *     VM cgroups off (null)
 * @param cgroupParent VMCTL_CGROUP_PARENT: the cgroup the VM cgroups are made in (vmctl)
 * @param vmMemoryOverhead VMCTL_VM_MEMORY_OVERHEAD: added to a VM's memory for its cgroup's memory
 *     limit and, published in the Host, its reservation on the host: what the hypervisor and
 *     vhost-device-vsock use beyond guest memory; by default {@link #defaultVmMemoryOverhead} of
 *     the hypervisor
 * @param cpuOvercommit VMCTL_CPU_OVERCOMMIT: the cluster's default vCPUs per core (1 to 32, 4 by
 *     default), used when the Host's spec.cpuOvercommit is not set
 */
public record NodeConfig(
    String hostName,
    Path stateDir,
    Path pool,
    String storageDriver,
    String hypervisor,
    Subnet subnet,
    String bridge,
    String netns,
    Path kernelDir,
    String qemu,
    String vhostVsock,
    boolean kvm,
    int reservedCpus,
    String reservedMemory,
    Duration heartbeat,
    int httpPort,
    String sshUser,
    String lvmVolumeGroup,
    String lvmThinPool,
    String cloudHypervisor,
    String gatewayNamespace,
    Duration hypervisorApiTimeout,
    String httpBindAddress,
    Path cgroupRoot,
    String cgroupParent,
    String vmMemoryOverhead,
    int cpuOvercommit) {

  /**
   * The default VMCTL_VM_MEMORY_OVERHEAD for QEMU under software emulation, measured
   * (docs/node-daemon.md, "VM cgroups": ~370 MiB peak beyond guest memory with a 256 MiB
   * translation cache).
   */
  public static final String DEFAULT_VM_MEMORY_OVERHEAD = "512Mi";

  /**
   * The per-VM memory overhead a hypervisor needs beyond guest memory. QEMU under TCG: measured.
   * QEMU with KVM (no translation cache) and cloud-hypervisor (a small Rust VMM): declared from
   * their projects' figures, not measurable here (docs/node-daemon.md, "VM cgroups").
   */
  public static String defaultVmMemoryOverhead(String hypervisor, boolean kvm) {
    if ("cloud-hypervisor".equals(hypervisor)) {
      return "64Mi";
    }
    return kvm ? "192Mi" : DEFAULT_VM_MEMORY_OVERHEAD;
  }

  /** The default VMCTL_CPU_OVERCOMMIT: vCPUs per core (docs/operator.md, "CPU overcommit"). */
  public static final int DEFAULT_CPU_OVERCOMMIT = 4;

  public NodeConfig {
    if (cpuOvercommit < 1 || cpuOvercommit > 32) {
      throw new IllegalArgumentException(
          "VMCTL_CPU_OVERCOMMIT must be a whole number of vCPUs per core from 1 to 32, not "
              + cpuOvercommit);
    }
  }

  public static NodeConfig fromEnvironment(Map<String, String> env) {
    String hypervisor = env.getOrDefault("VMCTL_HYPERVISOR", "qemu");
    boolean kvm = Boolean.parseBoolean(env.getOrDefault("VMCTL_KVM", "false"));
    Path pool = Path.of(env.getOrDefault("VMCTL_STORAGE_POOL", "/var/lib/vmctl"));
    return new NodeConfig(
        env.getOrDefault("VMCTL_NODE_NAME", hostname()),
        Path.of(env.getOrDefault("VMCTL_STATE_DIR", pool.toString())),
        pool,
        env.getOrDefault("VMCTL_STORAGE_DRIVER", "btrfs"),
        hypervisor,
        Subnet.parse(env.getOrDefault("VMCTL_VM_SUBNET", "10.100.0.0/24")),
        env.getOrDefault("VMCTL_BRIDGE", "vmctl0"),
        env.getOrDefault("VMCTL_NETNS", ""),
        Path.of(env.getOrDefault("VMCTL_KERNEL_DIR", "/var/lib/vmctl/kernel")),
        env.getOrDefault("VMCTL_QEMU", "qemu-system-x86_64"),
        env.getOrDefault("VMCTL_VHOST_VSOCK", "vhost-device-vsock"),
        kvm,
        Integer.parseInt(env.getOrDefault("VMCTL_RESERVED_CPUS", "0")),
        env.getOrDefault("VMCTL_RESERVED_MEMORY", "512Mi"),
        Duration.ofSeconds(Long.parseLong(env.getOrDefault("VMCTL_HEARTBEAT_SECONDS", "10"))),
        Integer.parseInt(env.getOrDefault("VMCTL_HTTP_PORT", "8081")),
        env.getOrDefault("VMCTL_GUEST_USER", "vmctl"),
        env.getOrDefault("VMCTL_LVM_VG", "vmctl"),
        env.getOrDefault("VMCTL_LVM_THINPOOL", "pool"),
        env.getOrDefault("VMCTL_CLOUD_HYPERVISOR", "cloud-hypervisor"),
        env.getOrDefault("VMCTL_GATEWAY_NAMESPACE", "vmctl-system"),
        Duration.ofSeconds(
            Long.parseLong(env.getOrDefault("VMCTL_HYPERVISOR_API_TIMEOUT_SECONDS", "5"))),
        env.getOrDefault("VMCTL_HTTP_BIND_ADDRESS", ""),
        cgroupRoot(env.getOrDefault("VMCTL_CGROUP_ROOT", "/sys/fs/cgroup")),
        env.getOrDefault("VMCTL_CGROUP_PARENT", "vmctl"),
        env.getOrDefault("VMCTL_VM_MEMORY_OVERHEAD", defaultVmMemoryOverhead(hypervisor, kvm)),
        Integer.parseInt(
            env.getOrDefault("VMCTL_CPU_OVERCOMMIT", String.valueOf(DEFAULT_CPU_OVERCOMMIT))));
  }

  private static Path cgroupRoot(String value) {
    return value.isBlank() ? null : Path.of(value);
  }

  private static String hostname() {
    try {
      return java.nio.file.Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
