package dev.vmctl.node.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmctl.node.identity.Identities.Holder;
import dev.vmctl.node.identity.Identities.Identity;
import dev.vmctl.node.model.Subnet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Identities are unique by construction: parallel claims, two processes, crashes, conflicts. */
class IdentitiesTest {
  static final Subnet SUBNET = Subnet.parse("10.100.0.0/24");

  @TempDir Path dir;

  /** The defect of issue 22: 20 VMs reconciled at once, none of them in anyone's status yet. */
  @Test
  void twentyParallelReservationsAreAllDistinct() throws Exception {
    Identities identities = new Identities(dir, SUBNET);
    Set<String> uids = ConcurrentHashMap.newKeySet();
    List<Identity> got = reserveInParallel(List.of(identities), 20, uids);
    assertDistinct(got, 20);
  }

  /** Two daemon processes on one host (a rolling update) share the claims on disk. */
  @Test
  void twoAllocatorsOnOneDirectoryNeverHandOutTheSameIdentity() throws Exception {
    Identities a = new Identities(dir, SUBNET);
    Identities b = new Identities(dir, SUBNET);
    Set<String> uids = ConcurrentHashMap.newKeySet();
    List<Identity> got = reserveInParallel(List.of(a, b), 20, uids);
    assertDistinct(got, 20);
  }

  /** kill -9 after the claim, before the status write: the VM gets the same identity back. */
  @Test
  void aVmGetsItsClaimBackAfterACrash() throws Exception {
    Identity first = new Identities(dir, SUBNET).reserve("vm-a", () -> List.of(holder("vm-a")));
    Identity again = new Identities(dir, SUBNET).reserve("vm-a", () -> List.of(holder("vm-a")));
    assertThat(again).isEqualTo(first);
  }

  @Test
  void statusIdentitiesOfOtherVmsAreNeverHandedOut() throws Exception {
    Identities identities = new Identities(dir, SUBNET);
    List<Holder> vms =
        List.of(
            new Holder("old", "10.100.0.2", 3L),
            new Holder("old2", "10.100.0.3", 4L),
            holder("new"));
    Identity got = identities.reserve("new", () -> vms);
    assertThat(got.ip()).isEqualTo("10.100.0.4");
    assertThat(got.cid()).isEqualTo(5);
    assertThat(got.mac()).isEqualTo("52:54:0a:64:00:04");
  }

  @Test
  void aClaimIsReusableOnlyAfterRelease() throws Exception {
    Identities identities = new Identities(dir, SUBNET);
    Identity a = identities.reserve("a", () -> List.of(holder("a"), holder("b")));
    Identity b = identities.reserve("b", () -> List.of(holder("a"), holder("b")));
    assertThat(b.ip()).isNotEqualTo(a.ip());
    identities.release("a");
    Identity c = identities.reserve("c", () -> List.of(holder("b"), holder("c")));
    assertThat(c.ip()).isEqualTo(a.ip());
    assertThat(c.cid()).isEqualTo(a.cid());
  }

  /** A VM deleted while the daemon was down: its claim goes once the host's list lacks it. */
  @Test
  void claimsOfVmsThatNoLongerExistAreReleased() throws Exception {
    Identities identities = new Identities(dir, SUBNET);
    Identity gone = identities.reserve("gone", () -> List.of(holder("gone")));
    Identity next = identities.reserve("next", () -> List.of(holder("next")));
    assertThat(next.ip()).isEqualTo(gone.ip());
  }

  @Test
  void adoptingAnAddressAnotherVmHoldsFails() throws Exception {
    Identities identities = new Identities(dir, SUBNET);
    Identity a = identities.reserve("a", () -> List.of(holder("a")));
    assertThat(identities.adopt("b", a.ip(), 99)).isFalse();
    assertThat(identities.adopt("b", "10.100.0.50", a.cid())).isFalse();
    assertThat(identities.adopt("a", a.ip(), a.cid())).isTrue();
    assertThat(identities.adopt("c", "10.100.0.60", 60)).isTrue(); // recorded before claims
    assertThat(identities.holderOfAddress("10.100.0.60")).contains("c");
    assertThat(identities.adopt("c", "10.100.0.61", 60)).isFalse(); // status disagrees with claim
  }

  @Test
  void claimFilesHoldTheOwnersUid() throws Exception {
    Identity a = new Identities(dir, SUBNET).reserve("uid-1", () -> List.of(holder("uid-1")));
    assertThat(Files.readString(dir.resolve("ip").resolve(a.ip()))).isEqualTo("uid-1");
    assertThat(Files.readString(dir.resolve("cid").resolve(Long.toString(a.cid()))))
        .isEqualTo("uid-1");
  }

  private static Holder holder(String uid) {
    return new Holder(uid, null, null);
  }

  /** n VMs, each reconciled on its own thread, all released by one latch. */
  private static List<Identity> reserveInParallel(
      List<Identities> allocators, int n, Set<String> uids) throws Exception {
    for (int i = 0; i < n; i++) {
      uids.add("vm-" + i);
    }
    List<Holder> listed = uids.stream().map(IdentitiesTest::holder).toList();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Identity>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Identities allocator = allocators.get(i % allocators.size());
        String uid = "vm-" + i;
        Callable<Identity> task =
            () -> {
              go.await();
              return allocator.reserve(uid, () -> listed);
            };
        futures.add(pool.submit(task));
      }
      go.countDown();
      List<Identity> got = new ArrayList<>();
      for (Future<Identity> f : futures) {
        got.add(f.get());
      }
      return got;
    } finally {
      pool.shutdownNow();
    }
  }

  private static void assertDistinct(List<Identity> got, int n) {
    assertThat(got.stream().map(Identity::ip).collect(Collectors.toSet())).hasSize(n);
    assertThat(got.stream().map(Identity::mac).collect(Collectors.toSet())).hasSize(n);
    assertThat(got.stream().map(Identity::cid).collect(Collectors.toSet())).hasSize(n);
  }
}
