package dev.vmctl.agent.guest;

/** An operation's failure, reported to the caller as {@code {code, message}}. */
public final class AgentException extends Exception {
  private final String code;

  public AgentException(String code, String message) {
    super(message);
    this.code = code;
  }

  public String code() {
    return code;
  }

  public static AgentException invalid(String message) {
    return new AgentException("InvalidArgument", message);
  }
}
