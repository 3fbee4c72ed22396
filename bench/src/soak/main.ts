/**
 * `pnpm soak`: the soak at full size. Sizes from the environment:
 *   SOAK_JOBS=10000        jobs in all
 *   SOAK_CONCURRENCY=8     in flight at once (and the worker's worker.concurrency)
 *   SOAK_CALLERS=4         callers, each with its own token
 *   SOAK_DURATION_S        stop dispatching after this many seconds (default: when the jobs are done)
 * Exits 1 when a job did not end as expected, a caller saw another's job, or a count grew beyond its bound.
 */
import { growthBeyondBounds, runSoak } from "./soak.js";

function count(name: string, fallback: number | undefined): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return parsed;
}

async function main(): Promise<number> {
  const durationSeconds = count("SOAK_DURATION_S", undefined);
  const report = await runSoak({
    jobs: count("SOAK_JOBS", 10_000)!,
    concurrency: count("SOAK_CONCURRENCY", 8)!,
    callers: count("SOAK_CALLERS", 4)!,
    ...(durationSeconds !== undefined && { durationMs: durationSeconds * 1000 }),
    onProgress: (line) => process.stderr.write(`soak: ${line}\n`),
  });
  const problems = [...report.failures, ...growthBeyondBounds(report)];
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(problems.length === 0 ? "soak: PASS\n" : `soak: FAIL\n${problems.map((line) => `  ${line}`).join("\n")}\n`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
