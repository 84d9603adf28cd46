package weir.node.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** An aligned plain-text table for terminal output (cells cut at 80 characters). */
final class TextTable {
  private static final int MAX_CELL = 80;
  private final List<String[]> rows = new ArrayList<>();
  private final int columns;

  TextTable(String... header) {
    this.columns = header.length;
    rows.add(header);
  }

  TextTable row(Object... cells) {
    String[] r = new String[columns];
    for (int i = 0; i < columns; i++) r[i] = i < cells.length ? String.valueOf(cells[i]) : "";
    rows.add(r);
    return this;
  }

  void print(PrintWriter out) {
    int[] width = new int[columns];
    for (String[] row : rows) {
      for (int i = 0; i < columns; i++)
        width[i] = Math.min(MAX_CELL, Math.max(width[i], row[i].length()));
    }
    StringBuilder sb = new StringBuilder();
    for (int r = 0; r < rows.size(); r++) {
      for (int i = 0; i < columns; i++) {
        String v = rows.get(r)[i];
        if (v.length() > MAX_CELL) v = v.substring(0, MAX_CELL - 3) + "...";
        sb.append(i == 0 ? "" : " | ").append(String.format("%-" + width[i] + "s", v));
      }
      sb.append('\n');
      if (r == 0) {
        for (int i = 0; i < columns; i++)
          sb.append(i == 0 ? "" : "-+-").append("-".repeat(width[i]));
        sb.append('\n');
      }
    }
    int n = rows.size() - 1;
    sb.append('(').append(n).append(n == 1 ? " row)" : " rows)").append('\n');
    out.print(sb);
    out.flush();
  }
}
