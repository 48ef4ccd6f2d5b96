package dev.vmctl.node.steps;

import dev.vmctl.node.storage.Storage;
import java.io.IOException;

/**
 * The persistent data volume: created, formatted ext4 labelled vmctl-data, grown to the spec's
 * disk. Verified by its label and size, so a crash between creating and formatting is repaired.
 */
public final class DataVolumeStep implements HostStep {
  private final Storage storage;

  public DataVolumeStep(Storage storage) {
    this.storage = storage;
  }

  @Override
  public String name() {
    return "data volume";
  }

  @Override
  public boolean needed(VmPass pass) throws IOException {
    return !storage.dataReady(pass.plan());
  }

  @Override
  public void apply(VmPass pass) throws IOException {
    storage.ensureData(pass.plan());
  }

  @Override
  public boolean verify(VmPass pass) throws IOException {
    return storage.dataReady(pass.plan());
  }

  @Override
  public void remove(VmPass pass) throws IOException {
    storage.removeData(pass.plan());
  }
}
