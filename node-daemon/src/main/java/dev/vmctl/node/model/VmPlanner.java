package dev.vmctl.node.model;

import dev.vmctl.api.v1alpha1.ResourceAmounts;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Pure: what should exist on this host for a VM. */
public final class VmPlanner {
  private VmPlanner() {}

  /** The root volume's size when the spec names none (the CRD's default). */
  public static final String DEFAULT_ROOT_DISK = "10Gi";

  /** A short stable id from the VM's uid: survives restarts of the daemon and the VM. */
  public static String id(VirtualMachine vm) {
    return hash(vm.getMetadata().getUid()).substring(0, 12);
  }

  /** A placeholder MAC until the VM's identity is claimed (dev.vmctl.node.identity). */
  public static String mac(VirtualMachine vm) {
    String h = hash("mac:" + vm.getMetadata().getUid());
    return "52:54:"
        + h.substring(0, 2)
        + ":"
        + h.substring(2, 4)
        + ":"
        + h.substring(4, 6)
        + ":"
        + h.substring(6, 8);
  }

  public static VmPlan plan(VirtualMachine vm, Path stateDir, Subnet subnet) {
    VirtualMachineSpec spec = vm.getSpec();
    String id = id(vm);
    long cpus = spec.cpus == null ? 1 : spec.cpus;
    long maxCpus = spec.maxCpus == null ? cpus : Math.max(cpus, spec.maxCpus);
    long memory = bytes(spec.memory == null ? "1Gi" : spec.memory);
    long maxMemory = spec.maxMemory == null ? memory : Math.max(memory, bytes(spec.maxMemory));
    long disk = bytes(spec.disk == null ? "10Gi" : spec.disk);
    long rootDisk = bytes(spec.rootDisk == null ? DEFAULT_ROOT_DISK : spec.rootDisk);
    var status = vm.getStatus();
    // Never more than the operator granted (status.allocated, the VM's maximums): a spec that grew
    // past quota or host room runs at the granted size until the growth is granted.
    ResourceAmounts granted = status == null ? null : status.allocated;
    if (granted != null && granted.cpus != null) {
      maxCpus = Math.min(maxCpus, granted.cpus);
      cpus = Math.min(cpus, maxCpus);
    }
    if (granted != null && granted.memory != null) {
      maxMemory = Math.min(maxMemory, bytes(granted.memory));
      memory = Math.min(memory, maxMemory);
    }
    if (granted != null && granted.disk != null) {
      disk = Math.min(disk, bytes(granted.disk));
    }
    if (granted != null && granted.rootDisk != null) {
      rootDisk = Math.min(rootDisk, bytes(granted.rootDisk));
    }
    return new VmPlan(
        id,
        vm.getMetadata().getName(),
        vm.getMetadata().getNamespace(),
        stateDir.resolve("vms").resolve(id),
        spec.image == null ? "debian-12" : spec.image,
        cpus,
        maxCpus,
        memory,
        maxMemory,
        disk,
        "vt" + id.substring(0, 12),
        status == null || status.macAddress == null ? mac(vm) : status.macAddress,
        status == null ? null : status.ipAddress,
        subnet.gateway(),
        subnet.prefix(),
        status == null || status.vsockCid == null ? 0 : status.vsockCid,
        rootDisk);
  }

  static long bytes(String quantity) {
    return io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
            new io.fabric8.kubernetes.api.model.Quantity(quantity))
        .longValue();
  }

  static String hash(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
