package dev.vmctl.node.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuthorizedKeysTest {
  @Test
  void vmOwnerSharedAndGatewayKeysInThatOrderWithoutDuplicates() {
    VirtualMachine vm = new VirtualMachine();
    vm.setSpec(new VirtualMachineSpec());
    vm.getSpec().sshKeys = List.of("ssh-ed25519 AAAA vm", "ssh-ed25519 BBBB owner");
    List<String> keys =
        AuthorizedKeys.desired(
            vm,
            user("ada", false, "ssh-ed25519 BBBB owner"),
            List.of(
                user("zed", false, "ssh-ed25519 ZZZZ"), user("bob", false, " ssh-ed25519 CCCC ")),
            List.of("# gateway", "ssh-ed25519 GGGG gw", ""));
    assertThat(keys)
        .containsExactly(
            "ssh-ed25519 AAAA vm",
            "ssh-ed25519 BBBB owner",
            "ssh-ed25519 CCCC",
            "ssh-ed25519 ZZZZ",
            "ssh-ed25519 GGGG gw");
  }

  @Test
  void disabledUsersKeysAreLeftOut() {
    VirtualMachine vm = new VirtualMachine();
    vm.setSpec(new VirtualMachineSpec());
    assertThat(
            AuthorizedKeys.desired(
                vm,
                user("ada", true, "ssh-ed25519 AAAA"),
                List.of(user("bob", true, "ssh-ed25519 BBBB")),
                List.of()))
        .isEmpty();
  }

  private static User user(String name, boolean disabled, String key) {
    User user = new User();
    user.getMetadata().setName(name);
    user.setSpec(new User.Spec());
    user.getSpec().disabled = disabled;
    user.getSpec().sshKeys = List.of(key);
    return user;
  }
}
