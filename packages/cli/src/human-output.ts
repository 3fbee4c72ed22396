/** The default (not --json) output: aligned columns and `label: value` lines, as `docker ps` prints. */

export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(
      `${row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd()}\n`,
    );
  }
}

/** One `label: value` line each; undefined values are left out. */
export function printFields(fields: Record<string, string | number | undefined>): void {
  const entries = Object.entries(fields).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  const width = Math.max(...entries.map(([label]) => label.length)) + 1;
  for (const [label, value] of entries) process.stdout.write(`${`${label}:`.padEnd(width)} ${value}\n`);
}

/** 850 ms, 12.3 s, 4 min 5 s: the unit a reader would pick. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
