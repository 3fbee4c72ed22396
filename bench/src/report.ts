/** The bench's output: one row per figure, a table for people, a JSON file for tools and history. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

/** PASS/MISS against a target; INFO has none; SKIP could not be measured here; FAIL is a broken bench. */
export type Verdict = "PASS" | "MISS" | "INFO" | "SKIP" | "FAIL";

/** A bound on the worker/baseline ratio, or on the figure itself when there is no baseline. */
export interface Target {
  on: "ratio" | "figure";
  op: "<=" | ">=";
  value: number;
}

export interface Row {
  /**
   * The measurement's letter in the brief: a (latency), b (rate), c (output), d (rss), e (sandbox), f (seccomp), g (collect),
   * h (plugin overhead), i (result sizing), j (TLS + token), k (workspace sync), l (model gateway).
   */
  id: string;
  label: string;
  unit: string;
  figure?: number;
  baseline?: number;
  ratio?: number;
  target?: Target;
  verdict: Verdict;
  note?: string;
}

interface Measured {
  id: string;
  label: string;
  unit: string;
  figure: number;
  baseline?: number;
  target?: Target;
}

/** A row with its ratio (figure / baseline) and its verdict against the target, if any. */
export function measuredRow(measured: Measured): Row {
  const ratio = measured.baseline === undefined ? undefined : round(measured.figure / measured.baseline, 3);
  const target = measured.target;
  const checked = target?.on === "ratio" ? ratio : measured.figure;
  const verdict: Verdict =
    target === undefined || checked === undefined
      ? "INFO"
      : (target.op === "<=" ? checked <= target.value : checked >= target.value)
        ? "PASS"
        : "MISS";
  return { ...measured, ...(ratio !== undefined && { ratio }), verdict };
}

export function unmeasuredRow(id: string, label: string, verdict: "SKIP" | "FAIL", note: string): Row {
  return { id, label, unit: "", verdict, note };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function formatTable(rows: readonly Row[]): string {
  const header = ["", "measurement", "worker", "baseline", "ratio", "target", "result"];
  const cells = rows.map((row) => [
    `(${row.id})`,
    row.label,
    row.figure === undefined ? "-" : `${formatNumber(row.figure)} ${row.unit}`,
    row.baseline === undefined ? "-" : `${formatNumber(row.baseline)} ${row.unit}`,
    row.ratio === undefined ? "-" : `${row.ratio.toFixed(2)}x`,
    formatTarget(row),
    row.verdict,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => (line[column] ?? "").length)));
  const format = (line: readonly string[]): string =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  const notes = rows.filter((row) => row.note).map((row) => `(${row.id}) ${row.label}: ${row.note}`);
  return [format(header), format(widths.map((width) => "-".repeat(width))), ...cells.map(format), "", ...notes].join("\n");
}

function formatTarget(row: Row): string {
  if (!row.target) return "-";
  const value = row.target.on === "ratio" ? `${row.target.value}x` : `${row.target.value} ${row.unit}`;
  return `${row.target.op} ${value}`;
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Writes the run to `bench-<timestamp>.json` and `latest.json`; returns the first path. */
export async function writeResults(startedAt: Date, payload: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const text = `${JSON.stringify(payload, null, 2)}\n`;
  // Colons are legal on Linux but break copying the file to other systems.
  const path = join(RESULTS_DIR, `bench-${startedAt.toISOString().replace(/:/g, "-")}.json`);
  await writeFile(path, text);
  await writeFile(join(RESULTS_DIR, "latest.json"), text);
  return path;
}

/** What each measurement hands back: its table rows and every raw figure behind them. */
export interface SectionResult {
  rows: Row[];
  raw: Record<string, unknown>;
}
