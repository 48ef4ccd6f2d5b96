package dev.vmctl.node.steps;

import dev.vmctl.api.status.Reasons;
import dev.vmctl.node.storage.Storage;
import java.io.IOException;

/** The copy-on-write root volume, cloned from the VM's base image. */
public final class RootVolumeStep implements HostStep {
  private final Storage storage;

  public RootVolumeStep(Storage storage) {
    this.storage = storage;
  }

  @Override
  public String name() {
    return "root volume";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !storage.rootReady(pass.plan());
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    var images = storage.images();
    if (!images.contains(pass.plan().image())) {
      throw new StepFailed(
          Reasons.IMAGE_MISSING,
          "Image "
              + pass.plan().image()
              + " is not on this host (it has: "
              + (images.isEmpty() ? "none" : String.join(", ", images))
              + ").");
    }
    storage.ensureRoot(pass.plan());
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return storage.rootReady(pass.plan());
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    storage.removeRoot(pass.plan());
  }
}
