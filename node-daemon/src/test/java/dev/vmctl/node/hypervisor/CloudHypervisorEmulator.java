package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.Json;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * An emulation of the cloud-hypervisor REST API served on {@code --api-socket}, for tests. It is
 * written from upstream sources (repository cloud-hypervisor/cloud-hypervisor), never from vmctl's
 * driver:
 *
 * <ul>
 *   <li>{@code vmm/src/api/openapi/cloud-hypervisor.yaml} and {@code docs/api.md}: endpoints and
 *       schemas;
 *   <li>{@code vmm/src/api/http/mod.rs} and {@code vmm/src/api/http/http_endpoint.rs}: routing,
 *       methods, status codes, error bodies (a JSON array of the error chain's messages);
 *   <li>{@code vmm/src/lib.rs} and {@code vmm/src/vm.rs}: the VMM and VM state machines;
 *   <li>{@code vmm/src/vm_config.rs} and {@code vmm/src/config.rs} ({@code VmConfig::validate}):
 *       what vm.create deserialises and what vm.boot validates;
 *   <li>firecracker-microvm/micro-http {@code src/response.rs}: the bytes on the wire.
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
 *       ids) run when vm.boot builds the VM, and fail it with 500.
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
 * <p>Not emulated: a guest (nothing runs; a guest-initiated shutdown or reboot never happens), the
 * vsock listener, device hot-plug, migration, and the other endpoints, which answer 501 so that a
 * test notices. serde_json's " at line L column C" suffix is not reproduced.
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

  /** What serde_json reports for a body it cannot read into the Rust type: HTTP 400. */
  public static final class SerdeError extends IllegalArgumentException {
    SerdeError(String message) {
      super(message);
    }
  }

  /** Why building the VM fails at vm.boot (VmConfig::validate and the like): HTTP 500. */
  public static final class ConfigError extends IllegalArgumentException {
    private final List<String> chain;

    ConfigError(List<String> chain) {
      super(String.join(": ", chain));
      this.chain = List.copyOf(chain);
    }

    public List<String> chain() {
      return chain;
    }
  }

  private static final String ROOT = "/api/v1/";
  private static final String RUNNING = "Running";
  private static final String PAUSED = "Paused";
  private static final HttpResponse NO_CONTENT = new HttpResponse(204, null);
  private static final HttpResponse BARE_BAD_REQUEST = new HttpResponse(400, "");

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

  /** micro-http serves at most this many connections; the next one gets SERVER_FULL and closed. */
  static final int MAX_CONNECTIONS = 10;

  /** micro-http's SERVER_FULL_ERROR_MESSAGE, written on accept, before any request is read. */
  static final String SERVER_FULL =
      "HTTP/1.1 503 \r\nServer: Cloud Hypervisor API\r\nConnection: close\r\n"
          + "Content-Length: 40\r\n\r\n{ \"error\": \"Too many open connections\" }";

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

  private static void refuse(SocketChannel ch) {
    try (ch) {
      Channels.newOutputStream(ch).write(SERVER_FULL.getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // the client went away
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

  private record HttpRequest(
      String method, String path, String version, Map<String, String> headers, String body) {}

  /** A response; a null body means no Content-Type/Content-Length (micro-http's 204). */
  private record HttpResponse(int status, String body) {}

  /** Reads one request, or returns null if the peer closed the connection between requests. */
  private static HttpRequest readRequest(InputStream in) throws IOException {
    String line = readLine(in, true);
    if (line == null) {
      return null;
    }
    String[] parts = line.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
      throw new ProtocolException("bad request line: " + line);
    }
    Map<String, String> headers = readHeaders(in);
    if (headers.containsKey("transfer-encoding")) {
      throw new ProtocolException("micro-http needs Content-Length");
    }
    int length = contentLength(headers.get("content-length"));
    byte[] body = in.readNBytes(length);
    if (body.length != length) {
      throw new EOFException("body shorter than Content-Length");
    }
    // micro-http only has a body when Content-Length > 0.
    String text = length == 0 ? null : new String(body, StandardCharsets.UTF_8);
    return new HttpRequest(parts[0], absolutePath(parts[1]), parts[2], headers, text);
  }

  private static Map<String, String> readHeaders(InputStream in) throws IOException {
    Map<String, String> headers = new HashMap<>();
    for (String h = readLine(in, false); !h.isEmpty(); h = readLine(in, false)) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new ProtocolException("bad header: " + h);
      }
      headers.put(
          h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    return headers;
  }

  private static int contentLength(String value) throws ProtocolException {
    if (value == null) {
      return 0;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < 0) {
        throw new ProtocolException("negative Content-Length");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ProtocolException("bad Content-Length: " + value);
    }
  }

  /** The path micro-http routes on: origin form as is, absolute form without scheme and host. */
  private static String absolutePath(String target) {
    int scheme = target.indexOf("://");
    if (scheme < 0) {
      return target;
    }
    int slash = target.indexOf('/', scheme + 3);
    return slash < 0 ? "/" : target.substring(slash);
  }

  private static String readLine(InputStream in, boolean eofOk) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c == -1) {
        if (eofOk && line.size() == 0) {
          return null;
        }
        throw new EOFException("connection closed mid-request");
      }
      if (line.size() > 16384) {
        throw new ProtocolException("line too long");
      }
      line.write(c);
    }
    String s = line.toString(StandardCharsets.US_ASCII);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** micro-http's format: no reason phrase, always keep-alive, JSON content type. */
  private static void write(OutputStream out, HttpResponse r) throws IOException {
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(r.status()).append(" \r\n");
    head.append("Server: Cloud Hypervisor API\r\nConnection: keep-alive\r\n");
    byte[] body = r.body() == null ? new byte[0] : r.body().getBytes(StandardCharsets.UTF_8);
    if (r.body() != null) {
      head.append("Content-Type: application/json\r\nContent-Length: ")
          .append(body.length)
          .append("\r\n");
    }
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  /** Like the process exiting: the socket is removed first, then the connections close. */
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

  // ---- serde emulation (vmm/src/vm_config.rs; unknown fields are not denied) ----

  /** How a field is declared in Rust. */
  private enum Has {
    /** Neither Option nor #[serde(default)]: "missing field". */
    REQUIRED,
    /** Option: absent or null is None (omitted here). */
    OPTION,
    /** #[serde(default)]: absent takes the default (none: omitted); null is a type error. */
    DEFAULT
  }

  private interface Ty {}

  private record Int(String rust, long max) implements Ty {}

  private record Text(String expecting) implements Ty {}

  private record Flag() implements Ty {}

  private record Choice(String rust, List<String> variants) implements Ty {}

  private record Seq(Ty item) implements Ty {}

  private record Mac() implements Ty {}

  private record Ip() implements Ty {}

  /** A section vmctl does not use: only its JSON shape is checked. */
  private record Opaque(String rust, boolean isMap) implements Ty {}

  private record Field(String name, Ty ty, Has has, Supplier<Object> dflt) {}

  private record Struct(String rust, Map<String, Field> fields) implements Ty {}

  private static final Int U8 = new Int("u8", 0xffL);
  private static final Int U16 = new Int("u16", 0xffffL);
  private static final Int U32 = new Int("u32", 0xffff_ffffL);
  private static final Int U64 = new Int("u64", Long.MAX_VALUE);
  private static final Int USIZE = new Int("usize", Long.MAX_VALUE);
  private static final Text STRING = new Text("a string");
  private static final Text PATH = new Text("path string");
  private static final Flag BOOL = new Flag();
  private static final Choice CONSOLE_MODE =
      new Choice("ConsoleOutputMode", List.of("Off", "Pty", "Tty", "File", "Socket", "Null"));

  private static Field req(String name, Ty ty) {
    return new Field(name, ty, Has.REQUIRED, null);
  }

  private static Field opt(String name, Ty ty) {
    return new Field(name, ty, Has.OPTION, null);
  }

  private static Field def(String name, Ty ty, Object value) {
    return new Field(name, ty, Has.DEFAULT, value == null ? null : () -> value);
  }

  private static Field defBy(String name, Ty ty, Supplier<Object> value) {
    return new Field(name, ty, Has.DEFAULT, value);
  }

  private static Struct struct(String rust, Field... fields) {
    Map<String, Field> byName = new LinkedHashMap<>();
    for (Field f : fields) {
      byName.put(f.name(), f);
    }
    return new Struct(rust, byName);
  }

  private static Opaque mapOf(String rust) {
    return new Opaque(rust, true);
  }

  private static Seq seqOf(String rust) {
    return new Seq(new Opaque(rust, true));
  }

  // Field sets: the OpenAPI schemas (plus NetConfig.fds); types and defaults: the Rust structs.
  private static final Struct CPUS =
      struct(
          "CpusConfig",
          req("boot_vcpus", U32),
          req("max_vcpus", U32),
          opt(
              "topology",
              struct(
                  "CpuTopology",
                  req("threads_per_core", U16),
                  req("cores_per_die", U16),
                  req("dies_per_package", U16),
                  req("packages", U16))),
          def("kvm_hyperv", BOOL, false),
          def("max_phys_bits", U8, 46L),
          opt(
              "affinity",
              new Seq(struct("CpuAffinity", req("vcpu", U32), req("host_cpus", new Seq(USIZE))))),
          defBy(
              "features", struct("CpuFeatures", def("amx", BOOL, false)), () -> obj("amx", false)),
          def("nested", BOOL, true),
          def("core_scheduling", new Choice("CoreScheduling", List.of("Vm", "Vcpu", "Off")), "Vm"));

  private static final Struct MEMORY =
      struct(
          "MemoryConfig",
          req("size", U64),
          def("mergeable", BOOL, false),
          def("hotplug_method", new Choice("HotplugMethod", List.of("Acpi", "VirtioMem")), "Acpi"),
          opt("hotplug_size", U64),
          opt("hotplugged_size", U64),
          def("shared", BOOL, false),
          def("hugepages", BOOL, false),
          opt("hugepage_size", U64),
          def("prefault", BOOL, false),
          def("reserve", BOOL, null),
          def("thp", BOOL, true),
          opt("zones", seqOf("MemoryZoneConfig")));

  private static final Struct PAYLOAD =
      struct(
          "PayloadConfig",
          opt("firmware", PATH),
          opt("kernel", PATH),
          opt("cmdline", STRING),
          opt("initramfs", PATH),
          opt("igvm", PATH),
          opt("host_data", STRING));

  private static final Struct DISK =
      struct(
          "DiskConfig",
          opt("path", PATH),
          def("readonly", BOOL, false),
          def("direct", BOOL, false),
          def("iommu", BOOL, false),
          def("num_queues", USIZE, 1L),
          def("queue_size", U16, 128L),
          def("vhost_user", BOOL, false),
          opt("vhost_socket", STRING),
          opt("rate_limiter_config", mapOf("RateLimiterConfig")),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8),
          opt("id", STRING),
          opt("serial", STRING),
          opt("rate_limit_group", STRING),
          opt("queue_affinity", seqOf("VirtQueueAffinity")),
          def("backing_files", BOOL, null),
          def("sparse", BOOL, null),
          opt(
              "image_type",
              new Choice(
                  "ImageType", List.of("FlatVmdk", "FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown"))),
          opt("lock_granularity", new Choice("LockGranularity", List.of("ByteRange", "Full"))));

  private static final Struct NET =
      struct(
          "NetConfig",
          opt("tap", STRING),
          opt("ip", new Ip()),
          opt("mask", new Ip()),
          defBy("mac", new Mac(), CloudHypervisorEmulator::localRandomMac),
          opt("host_mac", new Mac()),
          opt("mtu", U16),
          def("iommu", BOOL, false),
          def("num_queues", USIZE, 2L),
          def("queue_size", U16, 256L),
          def("vhost_user", BOOL, false),
          opt("vhost_socket", STRING),
          def("vhost_mode", new Choice("VhostMode", List.of("Client", "Server")), "Client"),
          opt("id", STRING),
          opt("fds", new Seq(new Int("i32", Integer.MAX_VALUE))),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8),
          opt("rate_limiter_config", mapOf("RateLimiterConfig")),
          def("offload_tso", BOOL, true),
          def("offload_ufo", BOOL, true),
          def("offload_csum", BOOL, true));

  private static final Struct RNG =
      struct(
          "RngConfig",
          req("src", PATH),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8));

  private static final Struct BALLOON =
      struct(
          "BalloonConfig",
          req("size", U64),
          def("deflate_on_oom", BOOL, false),
          def("free_page_reporting", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8),
          def("iommu", BOOL, null));

  // Rust uses ConsoleConfig for both serial and console.
  private static final Struct CONSOLE =
      struct(
          "ConsoleConfig",
          opt("file", PATH),
          opt("socket", PATH),
          req("mode", CONSOLE_MODE),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, null),
          opt("pci_device_id", U8));

  private static final Struct VSOCK =
      struct(
          "VsockConfig",
          req("cid", U32),
          req("socket", PATH),
          def("iommu", BOOL, false),
          opt("id", STRING),
          def("pci_segment", U16, 0L),
          opt("pci_device_id", U8));

  private static final Struct VM_CONFIG =
      struct(
          "VmConfig",
          defBy("cpus", CPUS, () -> defaults(CPUS, obj("boot_vcpus", 1L, "max_vcpus", 1L))),
          defBy("memory", MEMORY, () -> defaults(MEMORY, obj("size", 512L << 20))),
          opt("payload", PAYLOAD),
          opt("rate_limit_groups", seqOf("RateLimitGroupConfig")),
          opt("disks", new Seq(DISK)),
          opt("net", new Seq(NET)),
          defBy("rng", RNG, () -> defaults(RNG, obj("src", "/dev/urandom"))),
          opt("balloon", BALLOON),
          opt("fs", seqOf("FsConfig")),
          opt("generic_vhost_user", seqOf("GenericVhostUserConfig")),
          opt("pmem", seqOf("PmemConfig")),
          defBy("serial", CONSOLE, () -> defaults(CONSOLE, obj("mode", "Null"))),
          defBy("console", CONSOLE, () -> defaults(CONSOLE, obj("mode", "Tty"))),
          def("debug_console", mapOf("DebugConsoleConfig"), null),
          opt("devices", seqOf("DeviceConfig")),
          opt("user_devices", seqOf("UserDeviceConfig")),
          opt("vdpa", seqOf("VdpaConfig")),
          opt("vsock", VSOCK),
          opt("numa", seqOf("NumaConfig")),
          def("iommu", BOOL, false),
          def("watchdog", BOOL, false),
          opt("rtc", mapOf("RtcConfig")),
          def("pvpanic", BOOL, false),
          opt("pci_segments", seqOf("PciSegmentConfig")),
          opt("platform", mapOf("PlatformConfig")),
          opt("tpm", mapOf("TpmConfig")),
          def("landlock_enable", BOOL, false),
          opt("landlock_rules", seqOf("LandlockConfig")));

  // vmm/src/api/mod.rs: VmResizeData (all Option), VmSnapshotConfig (destination_url required).
  private static final Struct VM_RESIZE =
      struct(
          "VmResizeData",
          opt("desired_vcpus", U32),
          opt("desired_ram", U64),
          opt("desired_balloon", U64));

  private static final Struct VM_SNAPSHOT =
      struct("VmSnapshotConfig", req("destination_url", STRING));

  static Map<String, Object> readVmConfig(Object json, List<String> unknown) {
    return readStruct(VM_CONFIG, json, "", unknown);
  }

  private static Map<String, Object> defaults(Struct s, Map<String, Object> required) {
    return readStruct(s, required, "", new ArrayList<>());
  }

  private static Object read(Ty ty, Object v, String at, List<String> unknown) {
    if (ty instanceof Struct s) {
      return readStruct(s, v, at, unknown);
    }
    if (ty instanceof Seq s) {
      return readSeq(s, v, at, unknown);
    }
    if (ty instanceof Int i) {
      return readInt(i, v);
    }
    if (ty instanceof Text t) {
      return expect(v instanceof String, v, t.expecting());
    }
    if (ty instanceof Flag) {
      return expect(v instanceof Boolean, v, "a boolean");
    }
    if (ty instanceof Choice c) {
      return readChoice(c, v);
    }
    if (ty instanceof Mac) {
      return readMac(v);
    }
    if (ty instanceof Ip) {
      return readIp(v);
    }
    Opaque o = (Opaque) ty;
    return o.isMap()
        ? expect(v instanceof Map, v, "struct " + o.rust())
        : expect(v instanceof List, v, "a sequence");
  }

  private static Map<String, Object> readStruct(
      Struct s, Object v, String at, List<String> unknown) {
    if (!(v instanceof Map<?, ?> m)) {
      throw invalidType(v, "struct " + s.rust());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Field f : s.fields().values()) {
      readField(f, m, at, unknown, out);
    }
    for (Object key : m.keySet()) {
      if (!s.fields().containsKey(String.valueOf(key))) {
        unknown.add(join(at, String.valueOf(key))); // accepted and dropped, like serde does
      }
    }
    return out;
  }

  private static void readField(
      Field f, Map<?, ?> m, String at, List<String> unknown, Map<String, Object> out) {
    if (!m.containsKey(f.name())) {
      if (f.has() == Has.REQUIRED) {
        throw new SerdeError("missing field `" + f.name() + "`");
      }
      if (f.has() == Has.DEFAULT && f.dflt() != null) {
        out.put(f.name(), f.dflt().get());
      }
      return;
    }
    Object value = m.get(f.name());
    if (value == null && f.has() == Has.OPTION) {
      return;
    }
    out.put(f.name(), read(f.ty(), value, join(at, f.name()), unknown));
  }

  private static List<Object> readSeq(Seq s, Object v, String at, List<String> unknown) {
    if (!(v instanceof List<?> list)) {
      throw invalidType(v, "a sequence");
    }
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      out.add(read(s.item(), list.get(i), at + "[" + i + "]", unknown));
    }
    return out;
  }

  private static Long readInt(Int type, Object v) {
    if (!(v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte)) {
      throw invalidType(v, type.rust());
    }
    long n = ((Number) v).longValue();
    if (n < 0 || n > type.max()) {
      throw new SerdeError("invalid value: integer `" + n + "`, expected " + type.rust());
    }
    return n;
  }

  private static String readChoice(Choice c, Object v) {
    if (!(v instanceof String s)) {
      throw invalidType(v, "enum " + c.rust());
    }
    if (!c.variants().contains(s)) {
      throw new SerdeError("unknown variant `" + s + "`, expected " + oneOf(c.variants()));
    }
    return s;
  }

  /** serde's wording for the expected variants. */
  private static String oneOf(List<String> variants) {
    List<String> quoted = variants.stream().map(x -> "`" + x + "`").toList();
    if (quoted.size() == 2) {
      return quoted.get(0) + " or " + quoted.get(1);
    }
    return "one of " + String.join(", ", quoted);
  }

  /** net_util::MacAddr::parse_str: six ':'-separated parts of two hex digits. */
  private static String readMac(Object v) {
    String s = (String) expect(v instanceof String, v, "a string");
    String[] parts = s.split(":", -1);
    boolean ok = parts.length == 6;
    for (int i = 0; ok && i < parts.length; i++) {
      ok = parts[i].length() == 2 && isHexByte(parts[i]);
    }
    if (!ok) {
      throw new SerdeError("parsing of " + s + " into a MAC address failed");
    }
    return s;
  }

  private static boolean isHexByte(String s) {
    try {
      int b = Integer.parseInt(s, 16); // like u8::from_str_radix, a leading '+' is accepted
      return b >= 0 && b <= 255;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String readIp(Object v) {
    String s = (String) expect(v instanceof String, v, "IP address");
    if (!isIpv4(s) && !isIpv6(s)) {
      throw new SerdeError("invalid IP address syntax");
    }
    return s;
  }

  /** Rust's Ipv4Addr parser: four decimal octets, no leading zeros. */
  private static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      boolean digits =
          !p.isEmpty() && p.length() <= 3 && p.chars().allMatch(c -> c >= '0' && c <= '9');
      if (!digits || (p.length() > 1 && p.charAt(0) == '0') || Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpv6(String s) {
    if (!s.contains(":") || !s.matches("[0-9A-Fa-f:.]+")) {
      return false;
    }
    try {
      InetAddress.getByName(s); // a literal: no lookup
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static String localRandomMac() {
    byte[] b = new byte[6];
    ThreadLocalRandom.current().nextBytes(b);
    b[0] = (byte) ((b[0] & 0xfe) | 0x02); // MacAddr::local_random: unicast, locally administered
    StringBuilder mac = new StringBuilder();
    for (byte x : b) {
      mac.append(mac.length() == 0 ? "" : ":").append(String.format("%02x", x & 0xff));
    }
    return mac.toString();
  }

  private static Object expect(boolean ok, Object v, String expecting) {
    if (!ok) {
      throw invalidType(v, expecting);
    }
    return v;
  }

  private static SerdeError invalidType(Object v, String expecting) {
    return new SerdeError("invalid type: " + unexpected(v) + ", expected " + expecting);
  }

  /** serde's Unexpected wording. */
  private static String unexpected(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Boolean b) {
      return "boolean `" + b + "`";
    }
    if (v instanceof Double || v instanceof Float) {
      return "floating point `" + v + "`";
    }
    if (v instanceof Number n) {
      return "integer `" + n + "`";
    }
    if (v instanceof String s) {
      return "string \"" + s + "\"";
    }
    return v instanceof List ? "sequence" : "map";
  }

  private static String join(String at, String key) {
    return at.isEmpty() ? key : at + "." + key;
  }

  // ---- what vm.boot checks (VmConfig::validate in vmm/src/config.rs, in its order) ----

  private static final String NEEDS_SHARED_MEMORY =
      "Using vhost-user requires using shared memory or huge pages";
  private static final String TOO_MANY_QUEUES =
      "Number of vCPUs is insufficient for number of queues";

  private static ConfigError invalid(String... why) {
    List<String> chain = new ArrayList<>();
    chain.add("Failed to validate config");
    chain.addAll(List.of(why));
    return new ConfigError(chain);
  }

  static void validateForBoot(Map<String, Object> c) {
    validatePayload(c.get("payload"));
    validateConsole(sub(c, "console"));
    validateConsole(sub(c, "serial"));
    Map<String, Object> cpus = sub(c, "cpus");
    if (num(cpus, "max_vcpus") < num(cpus, "boot_vcpus")) {
      throw invalid("Max CPUs lower than boot CPUs");
    }
    Set<String> ids = new HashSet<>();
    for (Map<String, Object> disk : items(c, "disks")) {
      validateDisk(c, disk, ids);
    }
    for (Map<String, Object> net : items(c, "net")) {
      validateNet(c, net, ids);
    }
    if (!items(c, "fs").isEmpty() && !sharedMemory(c)) {
      throw invalid(NEEDS_SHARED_MEMORY);
    }
    validateTopology(cpus);
    validateHugepages(sub(c, "memory"));
    validateVsockAndBalloon(c, ids);
    validateSizes(c);
  }

  private static void validatePayload(Object payload) {
    String unbootable = "Payload configuration is not bootable";
    if (!(payload instanceof Map<?, ?> p)
        || (p.get("kernel") == null && p.get("firmware") == null)) {
      throw invalid(unbootable, "No bootitem provided: neither firmware nor kernel");
    }
    if (p.get("kernel") != null && p.get("firmware") != null) {
      throw invalid(unbootable, "Specifying a kernel is not supported when a firmware is provided");
    }
  }

  private static void validateConsole(Map<String, Object> console) {
    Object mode = console.get("mode");
    if ("File".equals(mode) && console.get("file") == null) {
      throw invalid("Path missing when using file console mode");
    }
    if ("Socket".equals(mode) && console.get("socket") == null) {
      throw invalid("Path missing when using socket console mode");
    }
  }

  private static void validateDisk(Map<String, Object> c, Map<String, Object> d, Set<String> ids) {
    if (d.get("vhost_socket") != null && d.get("path") != null) {
      throw invalid("Disk path and vhost socket both provided");
    }
    validateVhostUser(c, d);
    Object group = d.get("rate_limit_group");
    if (group != null
        && items(c, "rate_limit_groups").stream().noneMatch(g -> group.equals(g.get("id")))) {
      throw invalid("Invalid rate-limiter group");
    }
    if (num(d, "num_queues") > num(sub(c, "cpus"), "boot_vcpus")) {
      throw invalid(TOO_MANY_QUEUES);
    }
    if (d.get("serial") instanceof String serial && serial.length() > 20) {
      throw invalid(
          "Block device serial length ("
              + serial.length()
              + ") exceeds maximum allowed length (20)");
    }
    identifier(d.get("id"), ids);
  }

  private static void validateNet(Map<String, Object> c, Map<String, Object> n, Set<String> ids) {
    long queues = num(n, "num_queues");
    if (queues < 2) {
      throw invalid("Number of queues to virtio_net less than 2");
    }
    if (queues / 2 > num(sub(c, "cpus"), "boot_vcpus")) {
      throw invalid(TOO_MANY_QUEUES);
    }
    validateVhostUser(c, n);
    if (n.get("mtu") instanceof Long mtu && mtu < 1280) {
      throw invalid(
          "Provided MTU " + mtu + " is lower than 1280 (expected by VIRTIO specification)");
    }
    if (!flag(n, "offload_csum") && (flag(n, "offload_tso") || flag(n, "offload_ufo"))) {
      throw invalid("\"offload_tso\" and \"offload_ufo\" depend on \"offload_csum\"");
    }
    identifier(n.get("id"), ids);
  }

  private static void validateVhostUser(Map<String, Object> c, Map<String, Object> device) {
    if (!flag(device, "vhost_user")) {
      return;
    }
    if (!sharedMemory(c)) {
      throw invalid(NEEDS_SHARED_MEMORY);
    }
    if (device.get("vhost_socket") == null) {
      throw invalid("No socket provided when using vhost-user");
    }
  }

  private static boolean sharedMemory(Map<String, Object> c) {
    Map<String, Object> memory = sub(c, "memory");
    return flag(memory, "shared") || flag(memory, "hugepages");
  }

  private static void identifier(Object id, Set<String> ids) {
    if (!(id instanceof String s)) {
      return;
    }
    if (s.startsWith("__")) {
      throw invalid("Identifier " + s + " is not invalid"); // sic, upstream's wording
    }
    if (!ids.add(s)) {
      throw invalid("Identifier " + s + " is not unique");
    }
  }

  private static void validateTopology(Map<String, Object> cpus) {
    if (!(cpus.get("topology") instanceof Map<?, ?> t)) {
      return;
    }
    Map<String, Object> topology = map(t);
    long product = 1;
    for (String part :
        List.of("threads_per_core", "cores_per_die", "dies_per_package", "packages")) {
      long n = num(topology, part);
      if (n == 0) {
        throw invalid("No part of the CPU topology can be zero");
      }
      product *= n;
    }
    if (product != num(cpus, "max_vcpus")) {
      throw invalid("Product of CPU topology parts does not match maximum vCPU");
    }
  }

  private static void validateHugepages(Map<String, Object> memory) {
    if (!(memory.get("hugepage_size") instanceof Long size)) {
      return;
    }
    if (!flag(memory, "hugepages")) {
      throw invalid("Huge page size specified but huge pages not enabled");
    }
    if (Long.bitCount(size) != 1) {
      throw invalid("Huge page size is not power of 2: " + size);
    }
  }

  private static void validateVsockAndBalloon(Map<String, Object> c, Set<String> ids) {
    Map<String, Object> vsock = c.get("vsock") instanceof Map<?, ?> v ? map(v) : null;
    if (vsock != null) {
      long cid = num(vsock, "cid");
      // [!0, 0, 1, 2]: hypervisor, local, host and "any" are not guest CIDs.
      if (cid <= 2 || cid == 0xffff_ffffL) {
        throw invalid(cid + " is a special VSOCK CID");
      }
    }
    if (c.get("balloon") instanceof Map<?, ?> b) {
      long ram = num(sub(c, "memory"), "size");
      long size = num(map(b), "size");
      if (size >= ram) {
        throw invalid("Ballon size (" + size + ") greater than RAM (" + ram + ")"); // sic
      }
    }
    if (vsock != null) {
      identifier(vsock.get("id"), ids);
    }
  }

  /**
   * Not in VmConfig::validate, and inferred rather than read: a VM without RAM or vCPUs cannot be
   * built (the spec's minimum for boot_vcpus is 1). Texts approximate.
   */
  private static void validateSizes(Map<String, Object> c) {
    Map<String, Object> memory = sub(c, "memory");
    if (num(memory, "size") == 0 && items(memory, "zones").isEmpty()) {
      throw new ConfigError(List.of("Memory manager error", "guest RAM size is 0"));
    }
    if (num(sub(c, "cpus"), "boot_vcpus") == 0) {
      throw new ConfigError(List.of("Error from CPU manager", "boot_vcpus is 0"));
    }
  }

  /** Vm::new opens the payload, disks and rng source, and creates console files and sockets. */
  private static void checkHostPaths(Map<String, Object> c) {
    if (c.get("payload") instanceof Map<?, ?> payload) {
      requireExists(payload.get("kernel"), "Cannot open kernel file");
      requireElf(payload.get("kernel"));
      requireExists(payload.get("initramfs"), "Cannot open initramfs file");
      requireExists(payload.get("firmware"), "Error manipulating firmware file");
    }
    for (Map<String, Object> disk : items(c, "disks")) {
      requireExists(disk.get("path"), "Error from device manager", "Cannot open disk path");
    }
    requireExists(sub(c, "rng").get("src"), "Error from device manager", "Cannot open rng source");
    for (String console : List.of("serial", "console")) {
      requireParent(sub(c, console).get("file"), "Error creating console devices");
    }
    if (c.get("vsock") instanceof Map<?, ?> vsock) {
      requireParent(vsock.get("socket"), "Error from device manager");
    }
  }

  private static void requireExists(Object path, String... what) {
    if (path instanceof String p && !Files.exists(Path.of(p))) {
      List<String> chain = new ArrayList<>(List.of(what));
      chain.add("No such file or directory (os error 2)");
      throw new ConfigError(chain);
    }
  }

  /** linux-loader: a kernel that is not ELF is tried as a bzImage, and fails. */
  private static void requireElf(Object path) {
    if (!(path instanceof String p)) {
      return;
    }
    byte[] magic = new byte[4];
    try (InputStream in = Files.newInputStream(Path.of(p))) {
      int n = in.readNBytes(magic, 0, 4);
      if (n == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F') {
        return;
      }
    } catch (IOException e) {
      // unreadable: not ELF either
    }
    throw new ConfigError(List.of("Cannot load the kernel into memory", "Invalid bzImage"));
  }

  private static void requireParent(Object path, String what) {
    Path parent = path instanceof String p ? Path.of(p).toAbsolutePath().getParent() : null;
    if (parent != null && !Files.isDirectory(parent)) {
      throw new ConfigError(List.of(what, "No such file or directory (os error 2)"));
    }
  }

  // ---- small helpers ----

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  private static Map<String, Object> obj(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  private static Map<String, Object> sub(Map<String, Object> m, String key) {
    return map(m.get(key));
  }

  private static long num(Map<String, Object> m, String key) {
    return m.get(key) instanceof Long n ? n : 0;
  }

  private static boolean flag(Map<String, Object> m, String key) {
    return Boolean.TRUE.equals(m.get(key));
  }

  private static List<Map<String, Object>> items(Map<String, Object> m, String key) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (m.get(key) instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof Map<?, ?> item) {
          out.add(map(item));
        }
      }
    }
    return out;
  }

  private static Map<String, Object> copy(Map<String, Object> m) {
    return Json.parseObject(Json.write(m));
  }
}
