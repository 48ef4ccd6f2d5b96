package dev.vmctl.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.User;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.api.v1alpha1.VirtualMachineSpec;
import dev.vmctl.gateway.Access.Via;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccessTest {
  private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
  private final VirtualMachine web = vm("web", "user-ada");
  private final User ada = user("ada", "ada@example.com");
  private final User bob = user("bob", "Bob@Example.com");

  @Test
  void ownerGetsSshAndWeb() {
    assertThat(Access.ssh(web, "ada", ada, List.of(), NOW)).isEqualTo(Via.OWNER);
    assertThat(Access.web(web, "ada", ada, List.of(), Set.of(), NOW)).isEqualTo(Via.OWNER);
  }

  @Test
  void strangerGetsNothing() {
    assertThat(Access.ssh(web, "ada", bob, List.of(), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.web(web, "ada", bob, List.of(), Set.of(), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.web(web, "ada", null, List.of(), Set.of(), NOW)).isEqualTo(Via.NONE);
  }

  @Test
  void emailShareMatchesCaseInsensitivelyUntilItExpires() {
    Share share = share("s1", "user-ada", "web");
    share.getSpec().email = "bob@example.com";
    assertThat(Access.ssh(web, "ada", bob, List.of(share), NOW)).isEqualTo(Via.EMAIL_SHARE);
    share.getSpec().expiresAt = "2026-11-23T10:00:00Z";
    assertThat(Access.ssh(web, "ada", bob, List.of(share), NOW)).isEqualTo(Via.NONE);
    share.getSpec().expiresAt = "2026-11-23T10:00:01Z";
    assertThat(Access.web(web, "ada", bob, List.of(share), Set.of(), NOW))
        .isEqualTo(Via.EMAIL_SHARE);
  }

  @Test
  void shareOfAnotherVmOrNamespaceDoesNotCount() {
    Share otherVm = share("s1", "user-ada", "db");
    otherVm.getSpec().email = "bob@example.com";
    Share otherNs = share("s2", "user-eve", "web");
    otherNs.getSpec().email = "bob@example.com";
    assertThat(Access.ssh(web, "ada", bob, List.of(otherVm, otherNs), NOW)).isEqualTo(Via.NONE);
  }

  @Test
  void linkShareNeedsTheGrantAndIsWebOnly() {
    Share link = share("link1", "user-ada", "web");
    link.getSpec().link = true;
    assertThat(Access.web(web, "ada", null, List.of(link), Set.of(), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.web(web, "ada", null, List.of(link), Set.of("link1"), NOW))
        .isEqualTo(Via.LINK_SHARE);
    assertThat(Access.ssh(web, "ada", bob, List.of(link), NOW)).isEqualTo(Via.NONE);
  }

  @Test
  void publicVmOrPublicShareAdmitsAnyoneOnTheWebOnly() {
    Share pub = share("p", "user-ada", "web");
    pub.getSpec().isPublic = true;
    assertThat(Access.web(web, "ada", null, List.of(pub), Set.of(), NOW)).isEqualTo(Via.PUBLIC);
    assertThat(Access.ssh(web, "ada", bob, List.of(pub), NOW)).isEqualTo(Via.NONE);

    web.getSpec().http = new VirtualMachineSpec.HttpSpec();
    web.getSpec().http.isPublic = true;
    assertThat(Access.web(web, "ada", null, List.of(), Set.of(), NOW)).isEqualTo(Via.PUBLIC);
  }

  @Test
  void disabledUserGetsNothingEvenAsOwner() {
    ada.getSpec().disabled = true;
    assertThat(Access.ssh(web, "ada", ada, List.of(), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.web(web, "ada", ada, List.of(), Set.of(), NOW)).isEqualTo(Via.NONE);
  }

  static VirtualMachine vm(String name, String namespace) {
    VirtualMachine vm = new VirtualMachine();
    vm.setMetadata(
        new ObjectMetaBuilder()
            .withName(name)
            .withNamespace(namespace)
            .withUid(uidOf(namespace, name))
            .build());
    vm.setSpec(new VirtualMachineSpec());
    return vm;
  }

  static User user(String name, String email) {
    User user = new User();
    user.setMetadata(new ObjectMetaBuilder().withName(name).build());
    user.setSpec(new User.Spec());
    user.getSpec().email = email;
    return user;
  }

  static Share share(String name, String namespace, String vm) {
    Share share = new Share();
    share.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    share.setSpec(new Share.Spec());
    share.getSpec().vm = vm;
    share.setStatus(new Share.Status());
    share.getStatus().vmUid = uidOf(namespace, vm); // bound, as the operator does
    return share;
  }

  static String uidOf(String namespace, String vm) {
    return "uid-" + namespace + "-" + vm;
  }

  /** Issue 21: a Share outlives its VM; a new VM of that name is another VM. */
  @Test
  void aShareBoundToADeletedVmGrantsNothingToANewVmOfThatName() {
    Share pub = share("p", "user-ada", "web");
    pub.getSpec().isPublic = true;
    Share email = share("e", "user-ada", "web");
    email.getSpec().email = "bob@example.com";
    VirtualMachine newWeb = vm("web", "user-ada");
    newWeb.getMetadata().setUid("uid-of-the-new-web");
    assertThat(Access.web(newWeb, "ada", null, List.of(pub), Set.of(), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.ssh(newWeb, "ada", bob, List.of(email), NOW)).isEqualTo(Via.NONE);
    assertThat(Access.ssh(web, "ada", bob, List.of(email), NOW)).isEqualTo(Via.EMAIL_SHARE);
  }

  @Test
  void aShareTheOperatorHasNotBoundYetGrantsNothing() {
    Share pub = share("p", "user-ada", "web");
    pub.getSpec().isPublic = true;
    pub.setStatus(null);
    assertThat(Access.web(web, "ada", null, List.of(pub), Set.of(), NOW)).isEqualTo(Via.NONE);
  }
}
