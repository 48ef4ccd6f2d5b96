package dev.vmctl.api.v1alpha1;

/** Names shared by every resource in the API. */
public final class Api {
  public static final String GROUP = "vmctl.dev";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;

  /** {@code kubectl get vmctl} lists every vmctl resource. */
  public static final String CATEGORY = "vmctl";

  private Api() {}
}
