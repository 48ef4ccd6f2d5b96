package dev.vmctl.ssh;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmctl.api.v1alpha1.Share;
import dev.vmctl.api.v1alpha1.VirtualMachine;
import dev.vmctl.gateway.Access;
import dev.vmctl.ssh.Invocation.UsageException;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code share <vm> add <email> | link | public | private | ls | rm <email|link>}: Share objects in
 * the owner's namespace, created and deleted as the owner. Share names are derived from what they
 * grant, so adding the same grant twice finds the existing Share.
 */
final class ShareCommands {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EMAIL = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";

  private final GatewayContext context;
  private final VmCommands vms;

  ShareCommands(GatewayContext context) {
    this.context = context;
    this.vms = new VmCommands(context);
  }

  void run(Invocation in, Caller caller, Console console) throws UsageException, CommandFailed {
    if (in.args().size() < 2) {
      throw new UsageException("share needs a VM and what to do");
    }
    String action = in.args().get(1);
    List<String> rest = in.args().subList(2, in.args().size());
    Invocation vmOnly = new Invocation("share", List.of(in.args().get(0)), Map.of());
    VirtualMachine vm = vms.owned(vmOnly, caller, "share");
    switch (action) {
      case "add" -> add(vm, one(rest, "an email"), caller, console);
      case "link" -> link(vm, none(rest), caller, console);
      case "public" -> makePublic(vm, none(rest), caller, console);
      case "private" -> makePrivate(vm, none(rest), caller, console);
      case "ls" -> list(vm, none(rest), in.has("json"), console);
      case "rm" -> remove(vm, one(rest, "email or 'link'"), caller, console);
      default -> throw new UsageException("unknown share action: " + Commands.clip(action));
    }
  }

  private void add(VirtualMachine vm, String email, Caller caller, Console console)
      throws UsageException {
    if (!email.matches(EMAIL) || email.length() > 254) {
      throw new UsageException("not an email address: " + Commands.clip(email));
    }
    Share share = share(vm, emailShareName(vm, email));
    share.getSpec().email = email;
    if (createIfAbsent(caller, share)) {
      console.println("shared " + name(vm) + " with " + email);
    } else {
      console.println(name(vm) + " is already shared with " + email);
    }
  }

  private void link(VirtualMachine vm, boolean ignored, Caller caller, Console console)
      throws CommandFailed {
    Share share = share(vm, name(vm) + "-link");
    share.getSpec().link = true;
    createIfAbsent(caller, share);
    String secretName = "share-" + share.getMetadata().getName();
    // The person's role has no Secret access; the gateway reads this one Secret itself.
    Instant deadline = context.clock().instant().plusSeconds(30);
    while (context.clock().instant().isBefore(deadline)) {
      Secret secret =
          context.gatewayClient().secrets().inNamespace(namespace(vm)).withName(secretName).get();
      if (secret != null && secret.getData() != null && secret.getData().get("link") != null) {
        String link =
            new String(
                Base64.getDecoder().decode(secret.getData().get("link")), StandardCharsets.UTF_8);
        console.println(link);
        return;
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new CommandFailed("the link is not ready yet; try again in a moment");
  }

  private void makePublic(VirtualMachine vm, boolean ignored, Caller caller, Console console) {
    Share share = share(vm, name(vm) + "-public");
    share.getSpec().isPublic = true;
    createIfAbsent(caller, share);
    console.println(
        name(vm) + " is public: https://" + name(vm) + "." + context.config().domain() + "/");
  }

  private void makePrivate(VirtualMachine vm, boolean ignored, Caller caller, Console console) {
    int removed = 0;
    for (Share s : context.directory().sharesOf(vm)) {
      if (Boolean.TRUE.equals(s.getSpec().isPublic)) {
        removed += delete(caller, s);
      }
    }
    console.println(name(vm) + " is private" + (removed == 0 ? " (it was)" : ""));
  }

  private void list(VirtualMachine vm, boolean ignored, boolean json, Console console) {
    List<Map<String, Object>> rows = new ArrayList<>();
    Instant now = context.clock().instant();
    for (Share s : context.directory().sharesOf(vm)) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", s.getMetadata().getName());
      row.put(
          "kind",
          Boolean.TRUE.equals(s.getSpec().link)
              ? "link"
              : Boolean.TRUE.equals(s.getSpec().isPublic) ? "public" : "email");
      row.put("email", s.getSpec().email);
      row.put("expires", s.getSpec().expiresAt);
      row.put("active", Access.appliesTo(s, vm, now));
      rows.add(row);
    }
    if (json) {
      try {
        console.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    } else if (rows.isEmpty()) {
      console.println(name(vm) + " is not shared");
    } else {
      console.print(Table.render(List.of("name", "kind", "email", "expires", "active"), rows));
    }
  }

  private void remove(VirtualMachine vm, String what, Caller caller, Console console)
      throws CommandFailed {
    int removed = 0;
    for (Share s : context.directory().sharesOf(vm)) {
      boolean matches =
          what.equals("link")
              ? Boolean.TRUE.equals(s.getSpec().link)
              : Access.normalise(what).equals(Access.normalise(s.getSpec().email))
                  && s.getSpec().email != null;
      if (matches) {
        removed += delete(caller, s);
      }
    }
    if (removed == 0) {
      throw new CommandFailed(name(vm) + " is not shared with " + Commands.clip(what));
    }
    console.println("removed " + removed + " share" + (removed == 1 ? "" : "s"));
  }

  private boolean createIfAbsent(Caller caller, Share share) {
    try {
      as(caller).resource(share).create();
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return false;
      }
      throw e;
    }
  }

  private int delete(Caller caller, Share share) {
    return as(caller).resource(share).delete().isEmpty() ? 0 : 1;
  }

  private KubernetesClient as(Caller caller) {
    return context.people().as(caller.person().userName());
  }

  private static Share share(VirtualMachine vm, String shareName) {
    Share share = new Share();
    share.setMetadata(
        new ObjectMetaBuilder().withName(shareName).withNamespace(namespace(vm)).build());
    share.setSpec(new Share.Spec());
    share.getSpec().vm = name(vm);
    return share;
  }

  /** {@code <vm>-to-<8 hex of sha256(email)>}: stable, short, and reveals nothing. */
  static String emailShareName(VirtualMachine vm, String email) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(Access.normalise(email).getBytes(StandardCharsets.UTF_8));
      String vmName = name(vm);
      String base = vmName.length() > 50 ? vmName.substring(0, 50) : vmName;
      return base + "-to-" + HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String one(List<String> rest, String what) throws UsageException {
    if (rest.size() != 1) {
      throw new UsageException("needs " + what);
    }
    return rest.get(0);
  }

  private static boolean none(List<String> rest) throws UsageException {
    if (!rest.isEmpty()) {
      throw new UsageException("unexpected argument: " + Commands.clip(rest.get(0)));
    }
    return true;
  }

  private static String name(VirtualMachine vm) {
    return vm.getMetadata().getName();
  }

  private static String namespace(VirtualMachine vm) {
    return vm.getMetadata().getNamespace();
  }
}
