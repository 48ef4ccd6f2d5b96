package dev.vmctl.api.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** metav1.Condition handling: lastTransitionTime changes only when the status does. */
public final class Conditions {
  private Conditions() {}

  public static List<Condition> set(
      List<Condition> current,
      String type,
      boolean status,
      String reason,
      String message,
      Long generation,
      Instant now) {
    List<Condition> result = new ArrayList<>();
    String value = status ? "True" : "False";
    boolean found = false;
    for (Condition c : current == null ? List.<Condition>of() : current) {
      if (!type.equals(c.getType())) {
        result.add(c);
        continue;
      }
      found = true;
      String transition =
          value.equals(c.getStatus()) && c.getLastTransitionTime() != null
              ? c.getLastTransitionTime()
              : now.truncatedTo(ChronoUnit.SECONDS).toString();
      result.add(condition(type, value, reason, message, generation, transition));
    }
    if (!found) {
      result.add(
          condition(
              type,
              value,
              reason,
              message,
              generation,
              now.truncatedTo(ChronoUnit.SECONDS).toString()));
    }
    return result;
  }

  public static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null
        ? Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
  }

  public static boolean sameReason(List<Condition> conditions, String type, String reason) {
    return find(conditions, type).map(c -> Objects.equals(c.getReason(), reason)).orElse(false);
  }

  private static Condition condition(
      String type, String status, String reason, String message, Long generation, String time) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(time)
        .build();
  }
}
