package dev.vmctl.node.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmctl.agent.Json;
import dev.vmctl.node.hypervisor.CloudHypervisorEmulator.Options;
import dev.vmctl.node.hypervisor.RawHttp.Reply;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One test per fact of ../shared/notes/cloud-hypervisor-facts.md (observed 2026-12-01 on v48.0 and
 * the main branch at v53.0-246): the emulator must behave like the real binary, bytes included.
 * These talk raw HTTP ({@link RawHttp}), never through the driver's client.
 */
@Timeout(60)
class CloudHypervisorEmulatorTest {
  @TempDir Path dir;
  final List<CloudHypervisorEmulator> vmms = new ArrayList<>();
  final List<RawHttp> connections = new ArrayList<>();

  @AfterEach
  void close() throws IOException {
    for (RawHttp c : connections) {
      c.close();
    }
    for (CloudHypervisorEmulator vmm : vmms) {
      vmm.close();
    }
  }

  CloudHypervisorEmulator vmm(Options options) throws IOException {
    CloudHypervisorEmulator vmm = new CloudHypervisorEmulator(dir.resolve("api.sock"), options);
    vmms.add(vmm);
    return vmm;
  }

  CloudHypervisorEmulator vmm() throws IOException {
    return vmm(Options.upstream());
  }

  RawHttp connect() throws IOException {
    RawHttp c = new RawHttp(dir.resolve("api.sock"));
    connections.add(c);
    return c;
  }

  /** A bootable config, written by hand: kernel (ELF), two disks, serial file, vsock. */
  Map<String, Object> config() throws IOException {
    Path kernel = dir.resolve("vmlinux");
    Files.write(kernel, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
    Files.writeString(dir.resolve("root.img"), "");
    Files.writeString(dir.resolve("data.img"), "");
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("cpus", Map.of("boot_vcpus", 1, "max_vcpus", 2));
    c.put(
        "memory",
        Map.of("size", 512L << 20, "hotplug_method", "VirtioMem", "hotplug_size", 512L << 20));
    c.put("payload", Map.of("kernel", kernel.toString(), "cmdline", "console=ttyS0"));
    c.put("disks", List.of(disk("root.img", "root"), disk("data.img", "data")));
    c.put("serial", Map.of("mode", "File", "file", dir.resolve("console.log").toString()));
    c.put("console", Map.of("mode", "Off"));
    c.put(
        "vsock", Map.of("cid", 3, "socket", dir.resolve("vsock.sock").toString(), "id", "vsock0"));
    return c;
  }

  Map<String, Object> disk(String file, String id) {
    return new LinkedHashMap<>(
        Map.of("path", dir.resolve(file).toString(), "id", id, "image_type", "Raw"));
  }

  Reply put(RawHttp c, String action, Object body) throws IOException {
    return c.exchange("PUT", "/api/v1/" + action, body == null ? null : Json.write(body));
  }

  Reply get(RawHttp c, String action) throws IOException {
    return c.exchange("GET", "/api/v1/" + action, null);
  }

  String state(RawHttp c) throws IOException {
    return (String) Json.parseObject(get(c, "vm.info").body()).get("state");
  }

  RawHttp booted() throws IOException {
    RawHttp c = connect();
    assertThat(put(c, "vm.create", config()).status()).isEqualTo(204);
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(204);
    return c;
  }

  // ---- the HTTP server (micro_http) ----

  @Test
  void successAnswers204WithoutContentLengthAndKeepsConnectionOpen() throws IOException {
    vmm();
    RawHttp c = connect();
    Reply create = put(c, "vm.create", config());
    assertThat(create.status()).isEqualTo(204);
    assertThat(create.headers()).doesNotContainKey("content-length");
    assertThat(create.headers()).containsEntry("connection", "keep-alive");
    // The same connection serves the next request.
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Running");
  }

  @Test
  void requestConnectionCloseIsIgnoredAndTheConnectionStaysOpen() throws IOException {
    vmm();
    RawHttp c = connect();
    Reply r = c.exchange("PUT", "/api/v1/vm.create", Json.write(config()), "Connection: close");
    assertThat(r.status()).isEqualTo(204);
    assertThat(r.headers()).containsEntry("connection", "keep-alive");
    assertThat(get(c, "vmm.ping").status()).isEqualTo(200); // still open
  }

  @Test
  void aClientReadingA204ToEndOfStreamBlocks() throws Exception {
    vmm();
    RawHttp c = connect();
    c.send("PUT", "/api/v1/vm.create", Json.write(config()), "Connection: close");
    CompletableFuture<byte[]> toEnd = c.readToEndOfStream();
    // What the old UnixHttp did: the real server never closes, so this never ends.
    assertThatThrownBy(() -> toEnd.get(1, TimeUnit.SECONDS)).isInstanceOf(TimeoutException.class);
    c.close();
  }

  @Test
  void pingAnswers200WithJsonAndContentLength() throws IOException {
    vmm(Options.v48());
    Reply r = get(connect(), "vmm.ping");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.headers().get("content-length")).isEqualTo(String.valueOf(r.body().length()));
    assertThat(Json.parseObject(r.body())).containsEntry("version", "48.0.0");
  }

  @Test
  void vmmShutdownAnswers200WithContentLengthZeroThenExitsAndRemovesItsSocket() throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    RawHttp c = connect();
    Reply r = put(c, "vmm.shutdown", null);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.headers()).containsEntry("content-length", "0");
    assertThat(c.closedByServer()).isTrue();
    assertThat(vmm.isStopped()).isTrue();
    assertThat(dir.resolve("api.sock")).doesNotExist();
  }

  @Test
  void errorsCarryContentLengthAndTheErrorChainAsAJsonArray() throws IOException {
    vmm();
    Reply r = put(connect(), "vm.pause", null);
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.headers().get("content-length")).isEqualTo(String.valueOf(r.body().length()));
    assertThat(Json.parse(r.body()))
        .isEqualTo(List.of("Error from API", "The VM could not be paused", "VM is not running"));
  }

  @Test
  void atMostTenConnectionsTheEleventhGets503TooManyOpenConnections() throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    for (int i = 0; i < MicroHttp.MAX_CONNECTIONS; i++) {
      assertThat(get(connect(), "vmm.ping").status()).isEqualTo(200);
    }
    RawHttp eleventh = connect();
    Reply r = eleventh.read(); // written on accept, before any request
    assertThat(r.status()).isEqualTo(503);
    assertThat(Json.parseObject(r.body())).isEqualTo(Map.of("error", "Too many open connections"));
    assertThat(eleventh.closedByServer()).isTrue();
    assertThat(vmm.acceptedConnections()).isEqualTo(11);
  }

  @Test
  void aBodyOnVmBootIs400() throws IOException {
    vmm();
    RawHttp c = connect();
    put(c, "vm.create", config());
    Reply r = c.exchange("PUT", "/api/v1/vm.boot", "{}");
    assertThat(r.status()).isEqualTo(400);
    assertThat(Json.parse(r.body())).isEqualTo(List.of("Bad Request"));
  }

  @Test
  void vmCreateWithoutBodyIs400WithAnEmptyBody() throws IOException {
    vmm();
    Reply r = put(connect(), "vm.create", null);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.body()).isEmpty();
    assertThat(r.headers()).containsEntry("content-length", "0");
  }

  @Test
  void wrongMethodIs400BadRequest() throws IOException {
    vmm();
    RawHttp c = connect();
    assertThat(c.exchange("GET", "/api/v1/vm.boot", null).body()).isEqualTo("[\"Bad Request\"]");
    Reply r = c.exchange("PUT", "/api/v1/vmm.ping", null);
    assertThat(r.status()).isEqualTo(400);
    assertThat(Json.parse(r.body())).isEqualTo(List.of("Bad Request"));
  }

  @Test
  void unknownPathIs404NotFound() throws IOException {
    vmm();
    Reply r = get(connect(), "vm.nonsense");
    assertThat(r.status()).isEqualTo(404);
    assertThat(Json.parse(r.body())).isEqualTo(List.of("Not Found"));
  }

  @Test
  void unknownJsonFieldsAreDroppedSilently() throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put("cpu", Map.of("boot_vcpus", 4)); // a typo upstream does not report
    assertThat(put(c, "vm.create", config).status()).isEqualTo(204);
    assertThat(vmm.ignoredFields()).containsExactly("cpu");
    assertThat(Json.parseObject(get(c, "vm.info").body()).get("config").toString())
        .doesNotContain("cpu=");
  }

  // ---- the VM state machine ----

  @Test
  void withoutAVmInfoBootRebootResizeAre404OnV53AndPauseResumeShutdownSnapshot500()
      throws IOException {
    vmm();
    RawHttp c = connect();
    assertThat(get(c, "vm.info").status()).isEqualTo(404);
    Reply boot = put(c, "vm.boot", null);
    assertThat(boot.status()).isEqualTo(404);
    assertThat(boot.body()).contains("VM config is missing");
    assertThat(put(c, "vm.reboot", null).status()).isEqualTo(404);
    assertThat(put(c, "vm.resize", Map.of("desired_vcpus", 1)).status()).isEqualTo(404);
    for (String action : List.of("vm.pause", "vm.resume", "vm.shutdown")) {
      Reply r = put(c, action, null);
      assertThat(r.status()).as(action).isEqualTo(500);
      assertThat(r.body()).as(action).contains("VM is not running");
    }
    Reply snapshot = put(c, "vm.snapshot", Map.of("destination_url", "file://" + dir));
    assertThat(snapshot.status()).isEqualTo(500);
    assertThat(snapshot.body()).contains("VM is not running");
    assertThat(put(c, "vm.delete", null).status()).isEqualTo(204);
  }

  @Test
  void withoutAVmV48AnswersNotCreatedWith500() throws IOException {
    vmm(Options.v48()); // v48's api_error_status_code has no 404 (PR #8320 came with v53)
    RawHttp c = connect();
    assertThat(get(c, "vm.info").status()).isEqualTo(500);
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(500);
  }

  @Test
  void createGivesCreatedAndASecondCreateIs500AlreadyCreated() throws IOException {
    vmm();
    RawHttp c = connect();
    assertThat(put(c, "vm.create", config()).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Created");
    Reply again = put(c, "vm.create", config());
    assertThat(again.status()).isEqualTo(500);
    assertThat(again.body()).contains("VM is already created");
  }

  @Test
  void vmCreateOpensTheSerialFileAndAMissingDirectoryFailsWithErrorCreatingConsoleDevices()
      throws IOException {
    vmm();
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put(
        "serial", Map.of("mode", "File", "file", dir.resolve("nodir/console.log").toString()));
    Reply r = put(c, "vm.create", config);
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.body()).contains("Error creating console devices");
    assertThat(put(c, "vm.create", config()).status()).isEqualTo(204);
    assertThat(dir.resolve("console.log")).exists(); // opened at create, before any boot
  }

  @Test
  void invalidConfigAtBootIs400OnV53AndADuplicateIdIs409() throws IOException {
    vmm();
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put("cpus", Map.of("boot_vcpus", 2, "max_vcpus", 1));
    put(c, "vm.create", config);
    Reply r = put(c, "vm.boot", null);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.body()).contains("Max CPUs lower than boot CPUs");
    put(c, "vm.delete", null);
    Map<String, Object> duplicate = config();
    duplicate.put("disks", List.of(disk("root.img", "root"), disk("data.img", "root")));
    put(c, "vm.create", duplicate);
    Reply conflict = put(c, "vm.boot", null);
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.body()).contains("Identifier root is not unique");
  }

  @Test
  void invalidConfigAtBootIs500OnV48() throws IOException {
    vmm(Options.v48());
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put("cpus", Map.of("boot_vcpus", 2, "max_vcpus", 1));
    put(c, "vm.create", config);
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(500);
  }

  @Test
  void hostPathsAreCheckedAtBootMissingKernelMissingDiskAndNonElfKernel() throws IOException {
    vmm();
    RawHttp c = connect();
    Map<String, Object> missingKernel = config();
    missingKernel.put("payload", Map.of("kernel", dir.resolve("nokernel").toString()));
    assertThat(put(c, "vm.create", missingKernel).status()).isEqualTo(204); // not checked yet
    Reply r = put(c, "vm.boot", null);
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.body()).contains("Cannot open kernel file");
    put(c, "vm.delete", null);

    Map<String, Object> missingDisk = config();
    missingDisk.put("disks", List.of(disk("nodisk.img", "root")));
    put(c, "vm.create", missingDisk);
    Reply disk = put(c, "vm.boot", null);
    assertThat(disk.status()).isEqualTo(500);
    assertThat(disk.body()).contains("Cannot open disk path");
    put(c, "vm.delete", null);

    Files.writeString(dir.resolve("bzimage"), "not an ELF file");
    Map<String, Object> notElf = config();
    notElf.put("payload", Map.of("kernel", dir.resolve("bzimage").toString()));
    put(c, "vm.create", notElf);
    Reply elf = put(c, "vm.boot", null);
    assertThat(elf.status()).isEqualTo(500);
    assertThat(elf.body()).contains("Invalid bzImage");
  }

  @Test
  void bootGivesRunningAndASecondBootIs500() throws IOException {
    vmm();
    RawHttp c = booted();
    assertThat(state(c)).isEqualTo("Running");
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(500);
  }

  @Test
  void pauseGivesPausedResumeGivesRunningAndTheWrongStateIs500() throws IOException {
    vmm();
    RawHttp c = booted();
    assertThat(put(c, "vm.resume", null).status()).isEqualTo(500);
    assertThat(put(c, "vm.pause", null).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Paused");
    assertThat(put(c, "vm.pause", null).status()).isEqualTo(500);
    assertThat(put(c, "vm.resume", null).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Running");
  }

  @Test
  void vmShutdownLeavesTheVmCreatedNeverShutdownAndItBootsAgain() throws IOException {
    vmm();
    RawHttp c = booted();
    assertThat(put(c, "vm.shutdown", null).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Created");
    assertThat(put(c, "vm.boot", null).status()).isEqualTo(204);
    assertThat(state(c)).isEqualTo("Running");
  }

  @Test
  void guestPowerOffMakesTheVmmExitAndRemoveItsSocket() throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    RawHttp c = booted();
    vmm.guestPowersOff();
    assertThat(c.closedByServer()).isTrue();
    assertThat(dir.resolve("api.sock")).doesNotExist();
    assertThat(dir.resolve("vsock.sock")).doesNotExist();
  }

  @Test
  void aStaleVsockSocketFailsVmBootWithAddressInUse() throws IOException {
    CloudHypervisorEmulator killed = vmm();
    booted();
    killed.kill(); // SIGKILL: api.sock and vsock.sock stay behind
    assertThat(dir.resolve("vsock.sock")).exists();
    vmm();
    RawHttp c = connect();
    put(c, "vm.create", config());
    Reply r = put(c, "vm.boot", null);
    assertThat(r.status()).isEqualTo(500);
    assertThat(Json.parse(r.body()))
        .asList()
        .contains(
            "The VM could not boot",
            "Error binding to the host-side Unix socket",
            "Address already in use (os error 98)");
  }

  @Test
  void theMainBranchLeavesApiSockLockBesideTheSocketAfterExiting() throws IOException {
    CloudHypervisorEmulator main = vmm();
    RawHttp c = connect();
    put(c, "vmm.shutdown", null);
    assertThat(c.closedByServer()).isTrue(); // the process has exited
    assertThat(main.isStopped()).isTrue();
    assertThat(dir.resolve("api.sock.lock")).exists();
    assertThat(dir.resolve("api.sock")).doesNotExist();
  }

  @Test
  void v48KeepsNoApiSockLock() throws IOException {
    vmm(Options.v48());
    assertThat(dir.resolve("api.sock.lock")).doesNotExist();
  }

  @Test
  void resizeVcpusAboveMaxOrZeroIs500() throws IOException {
    vmm();
    RawHttp c = booted();
    Reply above = put(c, "vm.resize", Map.of("desired_vcpus", 3));
    assertThat(above.status()).isEqualTo(500);
    assertThat(above.body()).contains("Requested vCPUs exceed maximum");
    assertThat(put(c, "vm.resize", Map.of("desired_vcpus", 0)).status()).isEqualTo(500);
    assertThat(put(c, "vm.resize", Map.of("desired_vcpus", 2)).status()).isEqualTo(204);
  }

  @Test
  void resizeDesiredRamBelowBootSizeIs500OnV53() throws IOException {
    vmm();
    RawHttp c = booted();
    Reply r = put(c, "vm.resize", Map.of("desired_ram", 256L << 20));
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.body()).contains("below boot size");
  }

  @Test
  void resizeDesiredRamBelowBootSizeIsA204NoOpOnV48() throws IOException {
    vmm(Options.v48());
    RawHttp c = booted();
    assertThat(put(c, "vm.resize", Map.of("desired_ram", 256L << 20)).status()).isEqualTo(204);
    Map<String, Object> info = Json.parseObject(get(c, "vm.info").body());
    assertThat(((Number) info.get("memory_actual_size")).longValue()).isEqualTo(512L << 20);
  }

  @Test
  void resizeBeyondHotplugSizeIs500() throws IOException {
    vmm();
    RawHttp c = booted();
    assertThat(put(c, "vm.resize", Map.of("desired_ram", 2048L << 20)).status()).isEqualTo(500);
    assertThat(put(c, "vm.resize", Map.of("desired_ram", 1024L << 20)).status()).isEqualTo(204);
  }

  @Test
  void snapshotNeedsPausedAndAnExistingDirectoryAndWritesThreeFiles() throws IOException {
    vmm();
    RawHttp c = booted();
    Path snap = dir.resolve("snap");
    Map<String, Object> to = Map.of("destination_url", "file://" + snap);
    assertThat(put(c, "vm.snapshot", to).status()).isEqualTo(500); // running
    put(c, "vm.pause", null);
    assertThat(put(c, "vm.snapshot", to).status()).isEqualTo(500); // no directory
    Files.createDirectories(snap);
    assertThat(put(c, "vm.snapshot", to).status()).isEqualTo(204);
    assertThat(snap.resolve("config.json")).exists();
    assertThat(snap.resolve("memory-ranges")).exists();
    assertThat(snap.resolve("state.json")).exists();
  }

  // ---- config ----

  @Test
  void everyFieldTheDriverSendsIsAcceptedAndEchoedByVmInfo() throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put("net", List.of(Map.of("tap", "vt0", "mac", "52:54:00:12:34:56", "id", "net0")));
    config.put("rng", Map.of("src", "/dev/urandom"));
    put(c, "vm.create", config);
    assertThat(vmm.ignoredFields()).isEmpty();
    @SuppressWarnings("unchecked")
    Map<String, Object> echoed =
        (Map<String, Object>) Json.parseObject(get(c, "vm.info").body()).get("config");
    assertThat(echoed.get("vsock").toString()).contains("cid=3");
    assertThat(echoed.get("net").toString()).contains("tap=vt0", "mac=52:54:00:12:34:56");
    assertThat(echoed.get("serial").toString()).contains("mode=File");
    assertThat(echoed.get("disks").toString()).contains("image_type=Raw");
  }

  @Test
  void disksWithoutImageTypeLogTheDeprecationAndDisableSectorZeroWritesOnV51Plus()
      throws IOException {
    CloudHypervisorEmulator vmm = vmm();
    RawHttp c = connect();
    Map<String, Object> config = config();
    config.put("disks", List.of(Map.of("path", dir.resolve("root.img").toString())));
    put(c, "vm.create", config);
    assertThat(vmm.log()).anyMatch(l -> l.contains("Disabling sector 0 writes"));
  }

  @Test
  void versionPrintsTwoLines() {
    assertThat(Options.upstream().versionOutput().lines())
        .containsExactly(
            "cloud-hypervisor v53.0-246-gae44c2971", "Migration Protocol Versions: 1.0");
    assertThat(Options.v48().versionOutput()).startsWith("cloud-hypervisor v48.0\n");
  }
}
