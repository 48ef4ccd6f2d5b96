package dev.vmctl.node.hostkeys;

import dev.vmctl.node.host.Commands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Root-volume files through e2fsprogs' {@code debugfs}, which edits an unmounted ext4 filesystem in
 * place (a file or an LV alike, no mount, no loop device, no privileges beyond the volume's). A
 * guest that crashed leaves a journal to replay; it is replayed first ({@code e2fsck -E
 * journal_only}) so that debugfs's writes are not undone by the guest's own replay at its next
 * mount. debugfs exits 0 even when a command fails, so callers read back what they wrote.
 */
public final class DebugfsRootFiles implements RootFiles {
  private final Commands commands;

  public DebugfsRootFiles(Commands commands) {
    this.commands = commands;
  }

  @Override
  public byte[] read(String volume, String guestPath) throws IOException {
    checkPath(guestPath);
    Commands.Result r = commands.run(List.of("debugfs", "-R", "cat " + guestPath, volume));
    if (!r.ok()) {
      throw new IOException("debugfs cannot read " + volume + ": " + r.stderr().strip());
    }
    return r.stdout().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void write(String volume, List<GuestFile> files) throws IOException {
    replayJournal(volume);
    List<String> script = new ArrayList<>();
    Set<String> checked = new HashSet<>();
    for (GuestFile file : files) {
      checkPath(file.guestPath());
      int slash = file.guestPath().lastIndexOf('/');
      String dir = slash == 0 ? "/" : file.guestPath().substring(0, slash);
      String name = file.guestPath().substring(slash + 1);
      if (checked.add(dir) && directoryOwner(volume, dir).isEmpty()) {
        throw new IOException(dir + " is not a directory in the filesystem on " + volume);
      }
      // debugfs's write links the name into the current directory: cd first, plain names after.
      script.add("cd " + dir);
      script.add("rm " + name); // absent is fine (debugfs says so and goes on)
      script.add("write " + file.source() + " " + name);
      script.add("sif " + name + " mode 0" + Integer.toOctalString(0100000 | file.mode()));
      script.add("sif " + name + " uid " + file.owner().uid());
      script.add("sif " + name + " gid " + file.owner().gid());
    }
    Path commandFile = Files.createTempFile("vmctl-debugfs-", ".cmd");
    try {
      Files.write(commandFile, script); // paths only, never file content
      Commands.Result r =
          commands.run(List.of("debugfs", "-w", "-f", commandFile.toString(), volume));
      if (!r.ok()) {
        throw new IOException("debugfs cannot write " + volume + ": " + r.stderr().strip());
      }
    } finally {
      Files.deleteIfExists(commandFile);
    }
  }

  @Override
  public Optional<Owner> directoryOwner(String volume, String guestPath) throws IOException {
    checkPath(guestPath);
    Commands.Result r = commands.run(List.of("debugfs", "-R", "stat " + guestPath, volume));
    if (!r.ok() || !r.stdout().contains("Type: directory")) {
      return Optional.empty();
    }
    Matcher owner = OWNER.matcher(r.stdout());
    if (!owner.find()) {
      throw new IOException("debugfs stat " + guestPath + " names no owner: " + r.stdout());
    }
    return Optional.of(
        new Owner(Integer.parseInt(owner.group(1)), Integer.parseInt(owner.group(2))));
  }

  private static final Pattern OWNER = Pattern.compile("User:\\s+(\\d+)\\s+Group:\\s+(\\d+)");

  /** Replays a journal a crashed guest left (exit 0 or 1: nothing to do, or replayed). */
  private void replayJournal(String volume) throws IOException {
    Commands.Result r = commands.run(List.of("e2fsck", "-p", "-E", "journal_only", volume));
    if (!Set.of(0, 1).contains(r.exitCode())) {
      throw new IOException(
          "e2fsck -E journal_only " + volume + " exited " + r.exitCode() + ": " + r.stderr());
    }
  }

  /** An absolute path of plain names: no spaces or quotes debugfs would split on. */
  private static void checkPath(String path) {
    if (!path.matches("(/[A-Za-z0-9._-]+)+")) {
      throw new IllegalArgumentException("not a plain absolute path: " + path);
    }
  }
}
