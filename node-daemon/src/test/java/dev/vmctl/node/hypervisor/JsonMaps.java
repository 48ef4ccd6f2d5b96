package dev.vmctl.node.hypervisor;

import dev.vmctl.agent.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small accessors for JSON objects as maps, shared by the emulator's classes. */
final class JsonMaps {
  private JsonMaps() {}

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  static Map<String, Object> obj(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  static Map<String, Object> sub(Map<String, Object> m, String key) {
    return map(m.get(key));
  }

  static long num(Map<String, Object> m, String key) {
    return m.get(key) instanceof Long n ? n : 0;
  }

  static boolean flag(Map<String, Object> m, String key) {
    return Boolean.TRUE.equals(m.get(key));
  }

  static List<Map<String, Object>> items(Map<String, Object> m, String key) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (m.get(key) instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof Map<?, ?> item) {
          out.add(map(item));
        }
      }
    }
    return out;
  }

  static Map<String, Object> copy(Map<String, Object> m) {
    return Json.parseObject(Json.write(m));
  }
}
