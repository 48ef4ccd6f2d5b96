package dev.vmctl.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VmTargetTest {
  @Test
  void stripsTheVmDomainWithOrWithoutPort() {
    assertThat(VmTarget.vmName("web.vm.example.com", "vm.example.com")).isEqualTo("web");
    assertThat(VmTarget.vmName("WEB.vm.localhost", "vm.localhost:8443")).isEqualTo("web");
    assertThat(VmTarget.vmName("web", "vm.example.com")).isEqualTo("web");
    assertThat(VmTarget.vmName("web.other.com", "vm.example.com")).isEqualTo("web.other.com");
  }
}
