package dev.vmctl.agent.guest;

import java.util.List;
import java.util.Map;

/** Typed access to a request's arguments, with InvalidArgument errors people can read. */
final class Args {
  private final Map<String, Object> map;

  Args(Map<String, Object> map) {
    this.map = map == null ? Map.of() : map;
  }

  String string(String key) throws AgentException {
    Object v = map.get(key);
    if (!(v instanceof String s) || s.isEmpty()) {
      throw AgentException.invalid(key + " is required and must be a string");
    }
    return s;
  }

  String optString(String key, String fallback) throws AgentException {
    Object v = map.get(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof String s)) {
      throw AgentException.invalid(key + " must be a string");
    }
    return s;
  }

  long optLong(String key, long fallback) throws AgentException {
    Object v = map.get(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Long l)) {
      throw AgentException.invalid(key + " must be an integer");
    }
    return l;
  }

  @SuppressWarnings("unchecked")
  List<String> strings(String key, boolean required) throws AgentException {
    Object v = map.get(key);
    if (v == null && !required) {
      return List.of();
    }
    if (!(v instanceof List<?> list) || list.stream().anyMatch(o -> !(o instanceof String))) {
      throw AgentException.invalid(key + " must be a list of strings");
    }
    return (List<String>) list;
  }

  @SuppressWarnings("unchecked")
  Map<String, String> stringMap(String key) throws AgentException {
    Object v = map.get(key);
    if (v == null) {
      return Map.of();
    }
    if (!(v instanceof Map<?, ?> m) || m.values().stream().anyMatch(o -> !(o instanceof String))) {
      throw AgentException.invalid(key + " must be an object of strings");
    }
    return (Map<String, String>) m;
  }
}
