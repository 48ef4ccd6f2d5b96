package dev.vmctl.ssh;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Plain-text tables with aligned columns, headers in upper case; missing values as "-". */
final class Table {
  private Table() {}

  static String render(List<String> columns, List<Map<String, Object>> rows) {
    int[] widths = new int[columns.size()];
    for (int c = 0; c < columns.size(); c++) {
      widths[c] = columns.get(c).length();
      for (Map<String, Object> row : rows) {
        widths[c] = Math.max(widths[c], cell(row, columns.get(c)).length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, widths, columns.stream().map(s -> s.toUpperCase(Locale.ROOT)).toList());
    for (Map<String, Object> row : rows) {
      line(out, widths, columns.stream().map(c -> cell(row, c)).toList());
    }
    return out.toString();
  }

  private static void line(StringBuilder out, int[] widths, List<String> cells) {
    StringBuilder line = new StringBuilder();
    for (int c = 0; c < cells.size(); c++) {
      line.append(String.format("%-" + widths[c] + "s", cells.get(c)));
      if (c + 1 < cells.size()) {
        line.append("  ");
      }
    }
    out.append(line.toString().stripTrailing()).append('\n');
  }

  private static String cell(Map<String, Object> row, String column) {
    Object value = row.get(column);
    return value == null ? "-" : value.toString();
  }
}
