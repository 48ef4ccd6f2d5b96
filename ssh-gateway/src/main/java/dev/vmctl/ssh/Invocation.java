package dev.vmctl.ssh;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One parsed command line: {@code name arg... --flag value --switch}. Parsing is pure and rejects
 * what the command does not accept, so every command sees only well-formed input.
 */
public record Invocation(String name, List<String> args, Map<String, String> flags) {

  /** A command line that cannot be run; the message is shown to the person with the usage. */
  public static final class UsageException extends Exception {
    public UsageException(String message) {
      super(message);
    }
  }

  public static final int MAX_LINE = 4096;

  /** Splits a line like a shell would (spaces separate, single and double quotes group). */
  public static List<String> tokenize(String line) throws UsageException {
    if (line.length() > MAX_LINE) {
      throw new UsageException("command line too long");
    }
    List<String> tokens = new ArrayList<>();
    StringBuilder current = null;
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          current.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        current = current == null ? new StringBuilder() : current;
      } else if (Character.isWhitespace(c)) {
        if (current != null) {
          tokens.add(current.toString());
          current = null;
        }
      } else if (Character.isISOControl(c)) {
        throw new UsageException("control characters are not allowed");
      } else {
        current = current == null ? new StringBuilder() : current;
        current.append(c);
      }
    }
    if (quote != 0) {
      throw new UsageException("unterminated quote");
    }
    if (current != null) {
      tokens.add(current.toString());
    }
    return tokens;
  }

  /**
   * Parses tokens after the command name.
   *
   * @param valueFlags flags that take a value ({@code --cpus 2} or {@code --cpus=2})
   * @param switches flags without a value ({@code --json})
   */
  public static Invocation parse(
      String name, List<String> rest, Set<String> valueFlags, Set<String> switches)
      throws UsageException {
    List<String> args = new ArrayList<>();
    Map<String, String> flags = new LinkedHashMap<>();
    for (int i = 0; i < rest.size(); i++) {
      String token = rest.get(i);
      if (!token.startsWith("--") || token.equals("--")) {
        args.add(token);
        continue;
      }
      String flag = token.substring(2);
      String value = null;
      int eq = flag.indexOf('=');
      if (eq >= 0) {
        value = flag.substring(eq + 1);
        flag = flag.substring(0, eq);
      }
      if (switches.contains(flag)) {
        if (value != null) {
          throw new UsageException("--" + flag + " takes no value");
        }
        flags.put(flag, "true");
      } else if (valueFlags.contains(flag)) {
        if (value == null) {
          if (i + 1 >= rest.size() || rest.get(i + 1).startsWith("--")) {
            throw new UsageException("--" + flag + " needs a value");
          }
          value = rest.get(++i);
        }
        if (value.isEmpty()) {
          throw new UsageException("--" + flag + " needs a value");
        }
        flags.put(flag, value);
      } else {
        throw new UsageException("unknown flag --" + flag + " for " + name);
      }
    }
    return new Invocation(name, List.copyOf(args), Map.copyOf(flags));
  }

  public boolean has(String flag) {
    return flags.containsKey(flag);
  }

  public String flag(String flag) {
    return flags.get(flag);
  }

  /** The only positional argument, or a usage error. */
  public String single(String what) throws UsageException {
    if (args.size() != 1) {
      throw new UsageException(name + " needs exactly one " + what);
    }
    return args.get(0);
  }
}
