package dev.vmctl.node.storage;

import dev.vmctl.node.host.Commands;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** What {@code blkid -p} finds on a volume: a filesystem label, or no filesystem at all. */
final class VolumeLabel {
  private VolumeLabel() {}

  /** A filesystem whose label is this value ("" when it has none), or empty: no filesystem. */
  static Optional<String> read(Commands commands, String device) throws IOException {
    List<String> argv = List.of("blkid", "-p", "-o", "value", "-s", "LABEL", device);
    Commands.Result r = commands.run(argv);
    if (r.exitCode() == 2) { // blkid: nothing was found on the device
      return Optional.empty();
    }
    if (!r.ok()) {
      throw new Commands.CommandFailed(argv, r);
    }
    return Optional.of(r.stdout().strip());
  }

  /** Formats a volume with no filesystem; refuses one that carries another filesystem. */
  static void formatIfBlank(Commands commands, String device) throws IOException {
    Optional<String> label = read(commands, device);
    if (label.isPresent() && label.get().equals(Storage.DATA_LABEL)) {
      return;
    }
    if (label.isPresent()) {
      throw new IOException(
          "data volume "
              + device
              + " carries a filesystem that is not vmctl's (label '"
              + label.get()
              + "'); refusing to format it");
    }
    DataTemplate.format(commands, device, false);
  }
}
