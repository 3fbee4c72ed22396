/**
 * `pnpm bench`: the worker against baselines measured in the same run, printed as a table of ratios
 * and written to bench/results/. A MISS is a finding, not a failure: the exit code is non-zero only
 * when the bench itself could not measure something.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { readBenchOptions } from "./options.js";
import { formatTable, type Row, unmeasuredRow, writeResults } from "./report.js";
import { SECTIONS } from "./sections.js";

async function main(): Promise<number> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const options = readBenchOptions(process.env);
  const rows: Row[] = [];
  const sections: Record<string, unknown> = {};
  let failed = false;

  for (const section of SECTIONS) {
    if (!options.only.has(section.id)) continue;
    // Progress on stderr, so stdout holds only the report.
    process.stderr.write(`bench (${section.id}) ${section.title} ...\n`);
    const sectionStart = performance.now();
    try {
      const result = await section.run(options);
      rows.push(...result.rows);
      sections[section.id] = { title: section.title, ...result.raw };
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      rows.push(unmeasuredRow(section.id, section.title, "FAIL", message));
      sections[section.id] = { title: section.title, error: message };
    }
    process.stderr.write(`bench (${section.id}) done in ${((performance.now() - sectionStart) / 1000).toFixed(1)} s\n`);
  }

  const finishedAt = new Date();
  const path = await writeResults(startedAt, {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      totalMemoryBytes: totalmem(),
      loadAverageAtStart,
    },
    options: { ...options, only: [...options.only] },
    failed,
    rows,
    sections,
  });
  process.stdout.write(`${formatTable(rows)}\n\nraw figures: ${path}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
