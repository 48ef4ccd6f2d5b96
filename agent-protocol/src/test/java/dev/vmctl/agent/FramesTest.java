package dev.vmctl.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FramesTest {

  @Test
  void roundTripsNestedValues() throws Exception {
    Map<String, Object> message =
        Map.of(
            "id",
            7L,
            "op",
            "exec",
            "args",
            Map.of("argv", List.of("echo", "h\"i\n"), "ok", true, "x", 1.5));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Frames.write(out, message);
    byte[] bytes = out.toByteArray();
    assertThat(bytes[0]).isZero();
    assertThat(((bytes[2] & 0xff) << 8 | (bytes[3] & 0xff))).isEqualTo(bytes.length - 4);
    assertThat(Frames.read(new ByteArrayInputStream(bytes), 1024)).isEqualTo(message);
  }

  @Test
  void cleanEndOfStreamIsNull() throws Exception {
    assertThat(Frames.read(new ByteArrayInputStream(new byte[0]), 1024)).isNull();
  }

  @Test
  void rejectsOversizedTruncatedAndMalformedFrames() {
    assertThatThrownBy(
            () -> Frames.read(new ByteArrayInputStream(new byte[] {0x7f, 0, 0, 0}), 1024))
        .isInstanceOf(Frames.FrameException.class)
        .hasMessageContaining("outside 2..1024");
    assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0}), 1024))
        .hasMessageContaining("truncated length prefix");
    assertThatThrownBy(
            () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0, 0, 9, '{', '}'}), 1024))
        .hasMessageContaining("truncated frame");
    assertThatThrownBy(() -> Frames.read(frame("{\"a\":}"), 1024))
        .hasMessageContaining("malformed JSON");
    assertThatThrownBy(() -> Frames.read(frame("[1,2]"), 1024))
        .hasMessageContaining("expected a JSON object");
    assertThatThrownBy(() -> Frames.read(frame("[".repeat(500) + "]".repeat(500)), 4096))
        .hasMessageContaining("nested too deeply");
  }

  @Test
  void jsonEscapesAndNumbers() {
    java.util.Map<String, Object> expected = new java.util.LinkedHashMap<>();
    expected.put("s", "\u00e9\t");
    expected.put("n", -12L);
    expected.put("d", 25.0);
    expected.put("z", null);
    assertThat(Json.parse("{\"s\":\"\\u00e9\\t\",\"n\":-12,\"d\":2.5e1,\"z\":null}"))
        .isEqualTo(expected);
    assertThat(Json.write(Map.of("k", "a\u0001b"))).isEqualTo("{\"k\":\"a\\u0001b\"}");
  }

  private static ByteArrayInputStream frame(String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[body.length + 4];
    all[2] = (byte) (body.length >> 8);
    all[3] = (byte) body.length;
    System.arraycopy(body, 0, all, 4, body.length);
    return new ByteArrayInputStream(all);
  }
}
