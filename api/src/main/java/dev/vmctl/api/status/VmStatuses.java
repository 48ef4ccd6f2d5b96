package dev.vmctl.api.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Objects;

/** Small pure helpers for VM status, shared by the operator and the node daemon. */
public final class VmStatuses {
  private static final ObjectMapper JSON = Serialization.jsonMapper();

  private VmStatuses() {}

  /** A deep copy to edit (a new status when there is none yet). */
  public static VirtualMachineStatus copy(VirtualMachineStatus status) {
    return status == null
        ? new VirtualMachineStatus()
        : JSON.convertValue(status, VirtualMachineStatus.class);
  }

  /** Equal as JSON: what a status write would change. */
  public static boolean same(VirtualMachineStatus a, VirtualMachineStatus b) {
    return Objects.equals(JSON.valueToTree(a), JSON.valueToTree(b));
  }

  /** namespace/name. */
  public static String key(VirtualMachine vm) {
    return vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName();
  }
}
