package dev.vmctl.node.hypervisor;

import static dev.vmctl.node.hypervisor.JsonMaps.copy;
import static dev.vmctl.node.hypervisor.JsonMaps.items;
import static dev.vmctl.node.hypervisor.JsonMaps.map;
import static dev.vmctl.node.hypervisor.JsonMaps.num;
import static dev.vmctl.node.hypervisor.JsonMaps.sub;
import static dev.vmctl.node.hypervisor.MicroHttp.BARE_BAD_REQUEST;
import static dev.vmctl.node.hypervisor.MicroHttp.MAX_CONNECTIONS;
import static dev.vmctl.node.hypervisor.MicroHttp.NO_CONTENT;
import static dev.vmctl.node.hypervisor.MicroHttp.readRequest;
import static dev.vmctl.node.hypervisor.MicroHttp.refuse;
import static dev.vmctl.node.hypervisor.MicroHttp.write;
import static dev.vmctl.node.hypervisor.VmConfigChecks.checkHostPaths;
import static dev.vmctl.node.hypervisor.VmConfigChecks.validateForBoot;
import static dev.vmctl.node.hypervisor.VmConfigSerde.VM_RESIZE;
import static dev.vmctl.node.hypervisor.VmConfigSerde.VM_SNAPSHOT;
import static dev.vmctl.node.hypervisor.VmConfigSerde.readStruct;
import static dev.vmctl.node.hypervisor.VmConfigSerde.readVmConfig;

import dev.vmctl.agent.Json;
import dev.vmctl.node.hypervisor.MicroHttp.HttpRequest;
import dev.vmctl.node.hypervisor.MicroHttp.HttpResponse;
import dev.vmctl.node.hypervisor.VmConfigChecks.ConfigError;
import dev.vmctl.node.hypervisor.VmConfigSerde.SerdeError;
import dev.vmctl.node.hypervisor.VmConfigSerde.Struct;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An emulation of the cloud-hypervisor REST API served on {@code --api-socket}, for tests. It is
 * written from upstream sources (repository cloud-hypervisor/cloud-hypervisor) and from what the
 * real binary was observed to do (shared/notes/cloud-hypervisor-facts.md, v48.0 and main at
 * v53.0-246; {@link Options} switches between them), never from vmctl's driver. It uses none of the
 * driver's classes. The wire format is in {@link MicroHttp}, the config's deserialisation in {@link
 * VmConfigSerde}, what vm.boot checks in {@link VmConfigChecks}. Sources:
 *
 * <ul>
 *   <li>{@code vmm/src/api/openapi/cloud-hypervisor.yaml} and {@code docs/api.md}: endpoints and
 *       schemas;
 *   <li>{@code vmm/src/api/http/mod.rs} and {@code vmm/src/api/http/http_endpoint.rs}: routing,
 *       methods, status codes, error bodies (a JSON array of the error chain's messages);
 *   <li>{@code vmm/src/lib.rs} and {@code vmm/src/vm.rs}: the VMM and VM state machines;
 *   <li>{@code vmm/src/vm_config.rs} and {@code vmm/src/config.rs} ({@code VmConfig::validate}):
 *       what vm.create deserialises and what vm.boot validates;
 *   <li>firecracker-microvm/micro-http {@code src/response.rs} and {@code src/server.rs}: the bytes
 *       on the wire, keep-alive that never closes, the 10-connection limit.
 * </ul>
 *
 * <p>Where the implementation and the OpenAPI document disagree, this follows the implementation,
 * because that is what a driver meets in production:
 *
 * <ul>
 *   <li>The config structs have no {@code #[serde(deny_unknown_fields)]}: unknown fields are
 *       accepted and dropped. They are listed in {@link #ignoredFields()}; {@link
 *       Options#rejectingUnknownFields()} turns them into 400s (stricter than upstream).
 *   <li>vm.create only deserialises (400 on a type error); {@code payload} may be absent. The
 *       semantic checks (payload, max_vcpus &gt;= boot_vcpus, vsock CID, console paths, queues,
 *       ids) run when vm.boot builds the VM, and fail it with 400 (409 for a duplicate id) on v53+,
 *       500 on v48. The serial file is opened already at vm.create.
 *   <li>A request in the wrong state answers 500, never the 405 the document lists; "not created"
 *       answers 404 only since v53 (PR #8320) and only where the root error is VmNotCreated or
 *       VmMissingConfig (vm.boot, vm.info, vm.reboot, vm.resize). vm.pause, vm.resume, vm.shutdown
 *       and vm.snapshot without a VM answer 500 (issue #8678).
 *   <li>vm.shutdown drops the VM but keeps its config: vm.info then reports {@code Created} and
 *       vm.boot works again. vmm.shutdown answers 200, not 204, and removes the socket.
 *   <li>Action endpoints without a body (vm.boot, ...) answer 400 if a body is sent; a wrong method
 *       answers 400; an unknown path 404.
 * </ul>
 *
 * <p>Ways the process goes: vmm.shutdown and {@link #guestPowersOff()} exit and remove the socket;
 * {@link #kill()} (SIGKILL) leaves the API socket, the vsock socket and api.sock.lock behind.
 *
 * <p>Not emulated: a guest (nothing runs; a guest-initiated reboot never happens), the vsock
 * listener (a plain file stands at its path while a VM is booted), device hot-plug, migration, and
 * the other endpoints, which answer 501 so that a test notices. serde_json's " at line L column C"
 * suffix is not reproduced.
 */
public final class CloudHypervisorEmulator implements AutoCloseable {

  /** One request as received; {@code body} is "" when there was none. */
  public record Request(String method, String path, String body) {}

  /**
   * Which upstream behaviour to emulate, plus test-only switches.
   *
   * @param version crate version reported by vmm.ping ({@code 48.0.0}; the main branch at v53.0-246
   *     reports {@code 54.0.0})
   * @param buildVersion the build's git version, as {@code --version} and vmm.ping print it
   * @param legacyApi v48 (before PR #8320 and the validation status codes): every internal API
   *     error is a 500, also "VM is not created" and an invalid config at vm.boot; vm.boot on a
   *     paused VM resumes it; desired_ram below the boot size is a silent no-op; no api.sock.lock;
   *     no image_type warning. Otherwise the main branch (v53.0-246) as observed: 404 for "not
   *     created", 400 (409 for a duplicate id) for an invalid config, 500 below the boot size
   * @param rejectUnknownFields answer 400 to fields upstream would silently drop
   * @param checkHostPaths fail vm.boot, as upstream does, when the kernel, disks, rng source or
   *     vsock directory do not exist, or the kernel is not an ELF file (off only for benchmarks
   *     that boot nothing)
   * @param onBoot runs when a vm.boot succeeds (benchmarks time it)
   */
  public record Options(
      String version,
      String buildVersion,
      boolean legacyApi,
      boolean rejectUnknownFields,
      boolean checkHostPaths,
      Runnable onBoot) {

    /** The main branch at v53.0-246, as observed on 2026-12-01 (the "v53+" behaviour). */
    public static Options upstream() {
      return new Options("54.0.0", "v53.0-246-gae44c2971", false, false, true, () -> {});
    }

    /** v48.0, which images/node-daemon/Dockerfile pins. */
    public static Options v48() {
      return new Options("48.0.0", "v48.0", true, false, true, () -> {});
    }

    public Options rejectingUnknownFields() {
      return new Options(version, buildVersion, legacyApi, true, checkHostPaths, onBoot);
    }

    public Options withoutHostPathChecks() {
      return new Options(version, buildVersion, legacyApi, rejectUnknownFields, false, onBoot);
    }

    public Options withOnBoot(Runnable hook) {
      return new Options(
          version, buildVersion, legacyApi, rejectUnknownFields, checkHostPaths, hook);
    }

    /** What {@code cloud-hypervisor --version} prints: two lines. */
    public String versionOutput() {
      return "cloud-hypervisor " + buildVersion + "\nMigration Protocol Versions: 1.0\n";
    }
  }

  private static final String ROOT = "/api/v1/";
  private static final String RUNNING = "Running";
  private static final String PAUSED = "Paused";

  // Upstream routes this emulation does not implement: 501, so a test notices.
  private static final Set<String> NOT_EMULATED =
      Set.of(
          "vm.counters",
          "vm.balloon-stats",
          "vm.power-button",
          "vm.nmi",
          "vm.resize-disk",
          "vm.resize-zone",
          "vm.add-device",
          "vm.add-user-device",
          "vm.add-disk",
          "vm.add-fs",
          "vm.add-generic-vhost-user",
          "vm.add-pmem",
          "vm.add-net",
          "vm.add-vsock",
          "vm.add-vdpa",
          "vm.remove-device",
          "vm.coredump",
          "vm.restore",
          "vm.receive-migration",
          "vm.send-migration");

  private final Path socket;
  private final Options options;
  private final ServerSocketChannel server;
  private final Object socketKey;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<String> ignoredFields = new CopyOnWriteArrayList<>();
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final java.util.concurrent.atomic.AtomicInteger accepted =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean stopped;
  private volatile boolean stopping;

  /** API sockets whose api.sock.lock a live emulator holds (flock, in upstream). */
  private static final Set<Path> LOCKED = ConcurrentHashMap.newKeySet();

  // The VMM's state, guarded by this (upstream serialises API requests in one control loop).
  private Map<String, Object> sent; // the vm.create body as accepted
  private Map<String, Object> vmConfig; // deserialised with defaults, as vm.info reports it
  private String vmState; // null: no VM built (VmOwnership::None); else Running or Paused
  private long bootRam; // guest RAM at boot, the base for memory hot-plug
  private long acpiRam; // RAM plugged through ACPI so far

  public CloudHypervisorEmulator(Path socket) throws IOException {
    this(socket, Options.upstream());
  }

  public CloudHypervisorEmulator(Path socket, Runnable onBoot) throws IOException {
    this(socket, Options.upstream().withOnBoot(onBoot));
  }

  public CloudHypervisorEmulator(Path socket, Options options) throws IOException {
    this.socket = socket;
    this.options = options;
    if (!options.legacyApi()) {
      // The main branch flocks <socket>.lock, creating it, and leaves the file when it exits.
      if (!LOCKED.add(socket.toAbsolutePath())) {
        throw new IOException("API socket " + socket + " is in use by another VMM (locked)");
      }
      Files.writeString(lockFile(), "", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
    // Upstream removes a stale socket before binding (start_http_path_thread).
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    socketKey = Files.readAttributes(socket, BasicFileAttributes.class).fileKey();
    Thread t = new Thread(this::acceptLoop, "ch-emulator " + socket.getFileName());
    t.setDaemon(true);
    t.start();
  }

  // ---- what tests inspect ----

  /** The state vm.info would report ({@code Created}, {@code Running}, {@code Paused}), or null. */
  public synchronized String state() {
    if (vmConfig == null) {
      return null;
    }
    return vmState == null ? "Created" : vmState;
  }

  /** The accepted vm.create body as sent, or null when no VM is defined. */
  public synchronized Map<String, Object> config() {
    return sent == null ? null : copy(sent);
  }

  /** The body vm.info would answer (config with upstream's defaults filled in), or null. */
  public synchronized Map<String, Object> vmInfo() {
    return vmConfig == null ? null : copy(infoBody());
  }

  /** Every request received, in order, including rejected ones. */
  public List<Request> requests() {
    return requests;
  }

  /** JSON paths of fields upstream would silently drop, e.g. {@code memory.hotplug}. */
  public List<String> ignoredFields() {
    return ignoredFields;
  }

  /** How many connections were accepted so far (refused ones included). */
  public int acceptedConnections() {
    return accepted.get();
  }

  /** What the VMM would log as warnings (e.g. the image_type deprecation). */
  public List<String> log() {
    return log;
  }

  /** The lock file the main branch keeps beside its API socket. */
  public Path lockFile() {
    return socket.resolveSibling(socket.getFileName() + ".lock");
  }

  /**
   * The guest powers off (without --no-shutdown): the VMM process exits and removes its API socket
   * (and the vsock socket, dropped with the device).
   */
  public synchronized void guestPowersOff() {
    dropVm();
    stop();
  }

  /**
   * SIGKILL: the process is gone at once and removes nothing: the API socket, the vsock socket and
   * api.sock.lock stay behind.
   */
  public void kill() {
    stopped = true;
    closeQuietly();
    LOCKED.remove(socket.toAbsolutePath());
  }

  /** True once vmm.shutdown or close() stopped the server. */
  public boolean isStopped() {
    return stopped;
  }

  @Override
  public void close() throws IOException {
    stop();
  }

  /**
   * Lint for a vm.create body: throws for everything upstream rejects, at vm.create ({@link
   * SerdeError}) or at vm.boot ({@link ConfigError}), and also for fields upstream would silently
   * drop (a {@link SerdeError}; stricter than upstream, as typos there are silent bugs).
   */
  public static void validateVmConfig(Map<String, Object> body) {
    List<String> unknown = new ArrayList<>();
    Map<String, Object> config = readVmConfig(body, unknown);
    if (!unknown.isEmpty()) {
      throw new SerdeError(
          "unknown field `" + unknown.get(0) + "` (cloud-hypervisor would silently ignore it)");
    }
    validateForBoot(config);
  }

  // ---- HTTP over the Unix socket (micro-http's behaviour) ----

  private void acceptLoop() {
    while (true) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      if (connections.size() >= MAX_CONNECTIONS) {
        refuse(ch);
        continue;
      }
      connections.add(ch);
      Thread t = new Thread(() -> serve(ch), "ch-emulator connection");
      t.setDaemon(true);
      t.start();
    }
  }

  private void serve(SocketChannel ch) {
    try (ch) {
      InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
      OutputStream out = Channels.newOutputStream(ch);
      while (serveOne(in, out)) {
        // micro-http keeps connections alive
      }
      if (stopping) {
        stop(); // vmm.shutdown answered: exit before this connection closes
      }
    } catch (IOException e) {
      // the client went away
    } finally {
      connections.remove(ch);
    }
  }

  /** Answers one request; false when the connection should close. */
  private boolean serveOne(InputStream in, OutputStream out) throws IOException {
    HttpRequest request;
    try {
      request = readRequest(in);
    } catch (ProtocolException | EOFException e) {
      write(out, BARE_BAD_REQUEST);
      return false;
    }
    if (request == null) {
      return false;
    }
    write(out, dispatch(request));
    return !stopping; // micro-http ignores the request's Connection: close and never closes
  }

  private void stop() {
    stopped = true;
    deleteSocket();
    LOCKED.remove(socket.toAbsolutePath());
    closeQuietly();
  }

  private void closeQuietly() {
    try {
      server.close();
    } catch (IOException e) {
      // already closed
    }
    for (SocketChannel ch : connections) {
      try {
        ch.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }

  /** Upstream removes its socket on exit; only ours, never a newer emulator's on the same path. */
  private synchronized void deleteSocket() {
    try {
      if (Files.exists(socket)
          && socketKey != null
          && socketKey.equals(Files.readAttributes(socket, BasicFileAttributes.class).fileKey())) {
        Files.delete(socket);
      }
    } catch (IOException e) {
      // gone already
    }
  }

  // ---- routing (vmm/src/api/http/mod.rs, http_endpoint.rs) ----

  private HttpResponse dispatch(HttpRequest r) {
    requests.add(new Request(r.method(), r.path(), r.body() == null ? "" : r.body()));
    if (!r.path().startsWith(ROOT)) {
      return error(404, "Not Found");
    }
    String action = r.path().substring(ROOT.length());
    synchronized (this) {
      return switch (action) {
        case "vmm.ping" -> getOnly(r, this::ping);
        case "vm.info" -> getOnly(r, this::info);
        case "vmm.shutdown" -> vmmShutdown(r);
        case "vm.create" -> vmCreate(r);
        case "vm.boot", "vm.delete", "vm.shutdown", "vm.reboot", "vm.pause", "vm.resume" ->
            action(r, action);
        case "vm.resize" -> withBody(r, VM_RESIZE, this::resize);
        case "vm.snapshot" -> withBody(r, VM_SNAPSHOT, this::snapshot);
        default ->
            NOT_EMULATED.contains(action)
                ? new HttpResponse(501, Json.write(List.of(action + " is not emulated")))
                : error(404, "Not Found");
      };
    }
  }

  /** An HttpError rendered by error_response: its message chain as a JSON array. */
  private static HttpResponse error(int status, String... chain) {
    return new HttpResponse(status, Json.write(List.of(chain)));
  }

  @FunctionalInterface
  private interface ApiCall {
    /** Returns the 200 body, or null for 204. */
    Object call() throws ApiFailure;
  }

  @FunctionalInterface
  private interface BodyCall {
    void call(Map<String, Object> body) throws ApiFailure;
  }

  private HttpResponse getOnly(HttpRequest r, ApiCall call) {
    return r.method().equals("GET") ? api(call) : error(400, "Bad Request");
  }

  private HttpResponse api(ApiCall call) {
    try {
      Object body = call.call();
      return body == null ? NO_CONTENT : new HttpResponse(200, Json.write(body));
    } catch (ApiFailure f) {
      List<String> chain = new ArrayList<>();
      chain.add("Error from API");
      chain.addAll(f.chain);
      // api_error_status_code: 404 only for a VmNotCreated/VmMissingConfig root (since v53).
      int status = options.legacyApi() ? 500 : f.status;
      return new HttpResponse(status, Json.write(chain));
    }
  }

  /** VmCreate's own handler: PUT with a body, deserialised into VmConfig. */
  private HttpResponse vmCreate(HttpRequest r) {
    if (!r.method().equals("PUT")) {
      return error(400, "Bad Request");
    }
    if (r.body() == null) {
      return BARE_BAD_REQUEST;
    }
    List<String> unknown = new ArrayList<>();
    Object json;
    Map<String, Object> config;
    try {
      json = Json.parse(r.body());
      config = readVmConfig(json, unknown);
      checkUnknown(unknown);
    } catch (IllegalArgumentException e) {
      return error(400, "Failed to deserialize JSON", e.getMessage());
    }
    ignoredFields.addAll(unknown);
    return api(() -> create(map(json), config));
  }

  /** VmActionHandler without a body: boot, delete, shutdown, reboot, pause, resume. */
  private HttpResponse action(HttpRequest r, String action) {
    if (r.method().equals("GET")) {
      return error(400, "Bad Request"); // GetHandler's default
    }
    if (!r.method().equals("PUT")) {
      return BARE_BAD_REQUEST; // EndpointHandler::handle_request for other methods
    }
    if (r.body() != null) {
      return error(400, "Bad Request"); // vm_action_put_handler refuses any body
    }
    return api(() -> perform(action));
  }

  /** VmActionHandler with a body: resize, snapshot. */
  private HttpResponse withBody(HttpRequest r, Struct type, BodyCall call) {
    if (r.method().equals("GET")) {
      return error(400, "Bad Request");
    }
    if (!r.method().equals("PUT")) {
      return BARE_BAD_REQUEST;
    }
    if (r.body() == null) {
      return error(400, "Bad Request");
    }
    List<String> unknown = new ArrayList<>();
    Map<String, Object> data;
    try {
      data = readStruct(type, Json.parse(r.body()), "", unknown);
      checkUnknown(unknown);
    } catch (IllegalArgumentException e) {
      return error(400, "Failed to deserialize JSON", e.getMessage());
    }
    ignoredFields.addAll(unknown);
    return api(
        () -> {
          call.call(data);
          return null;
        });
  }

  private HttpResponse vmmShutdown(HttpRequest r) {
    if (!r.method().equals("PUT")) {
      return error(400, "Bad Request");
    }
    delete(); // vmm_shutdown = vm_delete, then the VMM exits
    stopping = true;
    return new HttpResponse(200, ""); // the handler answers OK, not the documented 204
  }

  private void checkUnknown(List<String> unknown) {
    if (options.rejectUnknownFields() && !unknown.isEmpty()) {
      throw new SerdeError(
          "unknown field `" + unknown.get(0) + "` (emulator strict mode; upstream ignores it)");
    }
  }

  // ---- the VMM (vmm/src/lib.rs RequestHandler for Vmm, vmm/src/vm.rs) ----

  /** An internal API error: its message chain below "Error from API". */
  private static final class ApiFailure extends Exception {
    final List<String> chain;

    /** The status on the main branch (api_error_status_code); v48 answers 500 for all. */
    final int status;

    ApiFailure(List<String> chain, int status) {
      super(String.join(": ", chain), null, false, false);
      this.chain = chain;
      this.status = status;
    }
  }

  private static ApiFailure failure(String... chain) {
    return new ApiFailure(List.of(chain), 500);
  }

  private static ApiFailure notCreated(String... chain) {
    return new ApiFailure(List.of(chain), 404);
  }

  private Object perform(String action) throws ApiFailure {
    switch (action) {
      case "vm.boot" -> boot();
      case "vm.delete" -> delete();
      case "vm.shutdown" -> shutdown();
      case "vm.reboot" -> reboot();
      case "vm.pause" -> pause();
      case "vm.resume" -> resume();
      default -> throw new IllegalStateException(action);
    }
    return null;
  }

  private Object create(Map<String, Object> body, Map<String, Object> config) throws ApiFailure {
    // Only stores the config; the VM is built (and validated) by vm.boot.
    if (vmConfig != null) {
      throw failure("The VM could not be created", "VM is already created");
    }
    openSerialFile(config);
    for (Map<String, Object> disk : items(config, "disks")) {
      if (!options.legacyApi() && disk.get("image_type") == null) {
        log.add(
            "WARN: disk "
                + disk.get("path")
                + ": image_type not set, this is deprecated; Autodetected raw image type."
                + " Disabling sector 0 writes");
      }
    }
    sent = copy(body);
    vmConfig = config;
    vmState = null;
    return null;
  }

  /** Vmm::vm_create already creates the console devices: the serial file is opened here. */
  private static void openSerialFile(Map<String, Object> config) throws ApiFailure {
    Map<String, Object> serial = sub(config, "serial");
    if (!"File".equals(serial.get("mode")) || !(serial.get("file") instanceof String file)) {
      return;
    }
    try {
      Files.writeString(Path.of(file), "", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw failure(
          "The VM could not be created",
          "Error creating console devices",
          "Error creating serial output file",
          "No such file or directory (os error 2)");
    }
  }

  private void boot() throws ApiFailure {
    String what = "The VM could not boot";
    if (PAUSED.equals(vmState) && options.legacyApi()) {
      vmState = RUNNING; // Vm::boot used to resume a paused VM
      return;
    }
    if (vmState != null) {
      throw failure(what, "VM is already created");
    }
    if (vmConfig == null) {
      throw notCreated(what, "VM config is missing");
    }
    buildVm(what);
    bindVsock(what);
    vmState = RUNNING;
    options.onBoot().run();
  }

  /** Vm::new: validates the config (and touches host resources); the VM stays unbuilt on error. */
  private void buildVm(String what) throws ApiFailure {
    try {
      validateForBoot(vmConfig);
      if (options.checkHostPaths()) {
        checkHostPaths(vmConfig);
      }
    } catch (ConfigError e) {
      List<String> chain = new ArrayList<>();
      chain.add(what);
      chain.addAll(e.chain());
      throw new ApiFailure(chain, validationStatus(e.chain()));
    }
    Map<String, Object> memory = sub(vmConfig, "memory");
    bootRam = num(memory, "size");
    acpiRam = bootRam;
  }

  /** The vsock device binds its host-side Unix socket; a leftover file makes bind fail. */
  private void bindVsock(String what) throws ApiFailure {
    Path path = vsockPath();
    if (path == null) {
      return;
    }
    if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw failure(
          what,
          "Error from device manager",
          "Cannot create virtio-vsock device",
          "Error binding to the host-side Unix socket",
          "Address already in use (os error 98)");
    }
    try {
      // A plain file stands for the listener: connecting to it is refused, as no guest runs.
      Files.writeString(path, "");
    } catch (IOException e) {
      throw failure(what, "Error from device manager", String.valueOf(e.getMessage()));
    }
  }

  private Path vsockPath() {
    return vmConfig != null
            && vmConfig.get("vsock") instanceof Map<?, ?> v
            && v.get("socket") instanceof String p
        ? Path.of(p)
        : null;
  }

  /** The VM is dropped (shutdown, delete, power-off): its vsock device removes its socket. */
  private void dropVm() {
    if (vmState != null) {
      Path path = vsockPath();
      if (path != null) {
        try {
          Files.deleteIfExists(path);
        } catch (IOException e) {
          // gone already
        }
      }
    }
    vmState = null;
  }

  /** Main: ConfigValidation is a 400, a duplicate id or device path 409; anything else 500. */
  private static int validationStatus(List<String> chain) {
    if (!chain.get(0).equals("Failed to validate config")) {
      return 500;
    }
    return chain.stream().anyMatch(m -> m.contains("is not unique")) ? 409 : 400;
  }

  private void pause() throws ApiFailure {
    String what = "The VM could not be paused";
    if (vmState == null) {
      throw failure(what, "VM is not running");
    }
    if (!vmState.equals(RUNNING)) {
      throw failure(what, "Cannot pause VM", transition(vmState, PAUSED));
    }
    vmState = PAUSED;
  }

  private void resume() throws ApiFailure {
    String what = "The VM could not resume";
    if (vmState == null) {
      throw failure(what, "VM is not running");
    }
    if (!vmState.equals(PAUSED)) {
      throw failure(what, "Cannot resume VM", transition(vmState, RUNNING));
    }
    vmState = RUNNING;
  }

  private static String transition(String from, String to) {
    return "Invalid transition: InvalidStateTransition(" + from + ", " + to + ")";
  }

  /** Running and Paused may both shut down; the VM is dropped, its config kept. */
  private void shutdown() throws ApiFailure {
    if (vmState == null) {
      throw failure("The VM could not shutdown", "VM is not running");
    }
    dropVm();
  }

  /** Shuts the VM down, then builds and boots a new one from the (possibly resized) config. */
  private void reboot() throws ApiFailure {
    String what = "The VM could not reboot";
    if (vmState == null) {
      throw notCreated(what, "VM is not created");
    }
    dropVm();
    buildVm(what);
    bindVsock(what);
    vmState = RUNNING;
  }

  private void delete() {
    // No VM is fine; a booted one is shut down first.
    dropVm();
    vmConfig = null;
    sent = null;
  }

  private Map<String, Object> ping() {
    Map<String, Object> pong = new LinkedHashMap<>();
    pong.put("build_version", options.buildVersion());
    pong.put("version", options.version());
    pong.put("pid", ProcessHandle.current().pid());
    pong.put("features", List.of("io_uring", "kvm")); // the default cargo features
    return pong;
  }

  private Map<String, Object> info() throws ApiFailure {
    if (vmConfig == null) {
      throw notCreated("The VM info is not available", "VM is not created");
    }
    return infoBody();
  }

  private Map<String, Object> infoBody() {
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("config", vmConfig);
    info.put("state", state());
    info.put("memory_actual_size", memoryActualSize());
    if (vmState != null) {
      info.put("device_tree", new LinkedHashMap<>()); // present once built; contents not emulated
    }
    return info;
  }

  /** vm_info: base RAM, plus what virtio-mem plugged, minus the balloon, once built. */
  private long memoryActualSize() {
    Map<String, Object> memory = sub(vmConfig, "memory");
    long size = num(memory, "size");
    if (vmState == null) {
      return size;
    }
    long plugged =
        "VirtioMem".equals(memory.get("hotplug_method")) ? num(memory, "hotplugged_size") : 0;
    long balloon = vmConfig.get("balloon") instanceof Map<?, ?> b ? num(map(b), "size") : 0;
    return Math.max(0, size - balloon) + plugged;
  }

  private void resize(Map<String, Object> r) throws ApiFailure {
    String what = "The VM could not be resized";
    if (vmConfig == null) {
      throw notCreated(what, "VM is not created");
    }
    Long vcpus = (Long) r.get("desired_vcpus");
    Long ram = (Long) r.get("desired_ram");
    Long balloon = (Long) r.get("desired_balloon");
    if (vmState == null) {
      resizeConfig(vcpus, ram, balloon); // not built: only the config changes, unchecked
      return;
    }
    if (vcpus != null) {
      resizeCpus(what, vcpus);
    }
    if (ram != null) {
      resizeMemory(what, ram);
    }
    if (balloon != null) {
      resizeBalloon(what, balloon);
    }
  }

  private void resizeConfig(Long vcpus, Long ram, Long balloon) {
    if (vcpus != null) {
      sub(vmConfig, "cpus").put("boot_vcpus", vcpus);
    }
    if (ram != null) {
      sub(vmConfig, "memory").put("size", ram);
    }
    if (balloon != null && vmConfig.get("balloon") instanceof Map<?, ?> b) {
      map(b).put("size", balloon);
    }
  }

  private void resizeCpus(String what, long vcpus) throws ApiFailure {
    Map<String, Object> cpus = sub(vmConfig, "cpus");
    if (vcpus == 0) {
      throw failure(what, "Error from CPU manager", "Requested zero vCPUs");
    }
    if (vcpus > num(cpus, "max_vcpus")) {
      throw failure(what, "Error from CPU manager", "Requested vCPUs exceed maximum");
    }
    cpus.put("boot_vcpus", vcpus);
  }

  /**
   * MemoryManager::resize then Vm::resize's config update. virtio-mem: only sizes at or above boot
   * RAM act, within hotplug_size, and need a hotplug_size at all; ACPI: only growth acts, within
   * hotplug_size, but memory.size takes the requested value either way. (Error texts approximate.)
   */
  private void resizeMemory(String what, long ram) throws ApiFailure {
    Map<String, Object> memory = sub(vmConfig, "memory");
    long hotplug = num(memory, "hotplug_size");
    if ("VirtioMem".equals(memory.get("hotplug_method"))) {
      if (ram < bootRam && !options.legacyApi()) {
        throw failure(
            what,
            "Memory manager error",
            "Invalid resize request: desired_size = " + ram + " below boot size = " + bootRam);
      }
      if (ram >= bootRam && !memory.containsKey("hotplug_size")) {
        throw failure(what, "Memory manager error", "Missing virtio-mem resize handler");
      }
      if (ram >= bootRam && ram - bootRam > hotplug) {
        throw failure(what, "Memory manager error", "Failed resizing virtio-mem region");
      }
      long size = num(memory, "size");
      if (ram > size) {
        memory.put("hotplugged_size", ram - size);
      } else {
        memory.remove("hotplugged_size");
      }
      return;
    }
    if (ram > acpiRam) {
      if (ram - bootRam > hotplug) {
        throw failure(what, "Memory manager error", "Insufficient space for hotplugging RAM");
      }
      acpiRam = ram;
    }
    memory.put("size", ram);
  }

  private void resizeBalloon(String what, long size) throws ApiFailure {
    if (!(vmConfig.get("balloon") instanceof Map<?, ?> balloon)) {
      throw failure(what, "Error from device manager", "No balloon device");
    }
    map(balloon).put("size", size);
  }

  /** Needs a paused VM and an existing directory as file://; writes what Vm::send writes. */
  private void snapshot(Map<String, Object> s) throws ApiFailure {
    String what = "The VM could not be snapshotted";
    if (vmState == null) {
      throw failure(what, "VM is not running");
    }
    if (!vmState.equals(PAUSED)) {
      throw failure(what, "Cannot snapshot VM", "Trying to snapshot while VM is running");
    }
    String url = (String) s.get("destination_url");
    if (!url.startsWith("file://")) {
      throw failure(what, "Cannot send VM snapshot", "Could not extract path from URL: " + url);
    }
    Path dir = Path.of(url.substring("file://".length()));
    if (!Files.isDirectory(dir)) {
      throw failure(what, "Cannot send VM snapshot", "Destination is not a directory");
    }
    try {
      createNew(dir.resolve("config.json"), Json.write(vmConfig));
      createNew(dir.resolve("state.json"), "{\"emulated\":true}");
      createNew(dir.resolve("memory-ranges"), "");
    } catch (FileAlreadyExistsException e) {
      throw failure(what, "Cannot send VM snapshot", "File exists (os error 17)");
    } catch (IOException e) {
      throw failure(what, "Cannot send VM snapshot", String.valueOf(e.getMessage()));
    }
  }

  private static void createNew(Path file, String content) throws IOException {
    // Upstream opens the snapshot files with create_new(true).
    Files.writeString(file, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  }
}
