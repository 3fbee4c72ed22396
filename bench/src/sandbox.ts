/**
 * (e) the trivial job again, against a worker left at its default (auto) driver, which sandboxes
 * with bwrap, and a bare bwrap as the baseline. A worker whose isolation probe refuses jobs is
 * reported, not failed: the machine, not the bench, decides whether a sandbox exists.
 */
import { FailedPreconditionError } from "@opencode-worker/master-client";
import { BWRAP_TRUE_ARGV } from "./baselines/bwrap.js";
import { spawnToClose } from "./baselines/spawn.js";
import { compareLatency, type LatencyComparison, TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import type { WorkerProcess } from "./worker-process.js";

export type SandboxOutcome = { measured: true; comparison: LatencyComparison; isolation: string } | { measured: false; why: string };

export async function compareSandboxLatency(
  worker: WorkerProcess,
  options: Pick<BenchOptions, "warmupJobs" | "latencyJobs" | "rounds">,
): Promise<SandboxOutcome> {
  const { isolationMode, isolationDetails } = worker.metricsAtStart;
  try {
    await worker.client.run(TRIVIAL_JOB);
  } catch (error) {
    if (!(error instanceof FailedPreconditionError)) throw error;
    const refusal = loggedRefusal(worker.recentLines()) ?? error.message;
    return { measured: false, why: `the worker refuses jobs (isolation ${isolationMode}): ${refusal}` };
  }
  if (isolationMode !== "sandbox") {
    return {
      measured: false,
      why: `the worker runs jobs with isolation "${isolationMode}", not a sandbox: ${isolationDetails.join("; ")}`,
    };
  }
  try {
    await spawnToClose(BWRAP_TRUE_ARGV);
  } catch (error) {
    return { measured: false, why: `the bare bwrap baseline cannot run: ${error instanceof Error ? error.message : String(error)}` };
  }
  const comparison = await compareLatency(worker.client, BWRAP_TRUE_ARGV, options);
  const result = await worker.client.run(TRIVIAL_JOB);
  return { measured: true, comparison, isolation: result.isolation };
}

/** The `refusal` field of the error line the worker logs at start-up when its probe finds no sandbox. */
function loggedRefusal(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    try {
      const refusal: unknown = (JSON.parse(line) as { refusal?: unknown }).refusal;
      if (typeof refusal === "string") return refusal;
    } catch {
      // Not a JSON log line (pino-pretty, a stack trace): nothing to take from it.
    }
  }
  return undefined;
}
