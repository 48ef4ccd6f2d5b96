package dev.vmctl.https.server;

/** The SSH gateway's command line for a gateway command, from its address as ssh -J takes it. */
final class SshCommand {
  private SshCommand() {}

  /**
   * {@code localhost:2222} and {@code login} → {@code ssh -p 2222 localhost login}; {@code
   * ssh.example.com} → {@code ssh ssh.example.com login}; {@code [::1]:2222} → {@code ssh -p 2222
   * ::1 login}.
   */
  static String of(String gateway, String command) {
    String host = gateway;
    String port = null;
    if (gateway.startsWith("[")) {
      int end = gateway.indexOf(']');
      host = gateway.substring(1, end);
      port = gateway.length() > end + 2 ? gateway.substring(end + 2) : null;
    } else if (gateway.indexOf(':') == gateway.lastIndexOf(':') && gateway.contains(":")) {
      host = gateway.substring(0, gateway.indexOf(':'));
      port = gateway.substring(gateway.indexOf(':') + 1);
    }
    return "ssh "
        + (port == null || port.equals("22") ? "" : "-p " + port + " ")
        + host
        + " "
        + command;
  }
}
