import { round } from "./measure.ts";

/** A section of the report: a title, column headers and rows of cells. */
export interface Table {
  title: string;
  headers: string[];
  rows: Array<Array<string | number>>;
  notes?: string[];
}

function cell(value: string | number): string {
  if (typeof value === "string") return value;
  if (Number.isNaN(value)) return "–";
  return round(value).toLocaleString("en-US");
}

/** Renders tables as aligned plain text. */
export function renderTables(tables: readonly Table[]): string {
  const out: string[] = [];
  for (const table of tables) {
    const cells = table.rows.map((row) => row.map(cell));
    const widths = table.headers.map((header, column) =>
      Math.max(header.length, ...cells.map((row) => (row[column] ?? "").length)),
    );
    const line = (row: string[]) =>
      row
        .map((value, column) =>
          column === 0 ? value.padEnd(widths[column] ?? 0) : value.padStart(widths[column] ?? 0),
        )
        .join("  ");
    out.push("", `## ${table.title}`, line(table.headers));
    out.push(widths.map((width) => "-".repeat(width)).join("  "));
    for (const row of cells) out.push(line(row));
    for (const note of table.notes ?? []) out.push(`  ${note}`);
  }
  return out.join("\n");
}
