/**
 * (g) COLLECT for the two tree shapes of issue 6: one file at the bottom of 1,000 nested directories
 * with 10-character names (an 11,000-byte path, past PATH_MAX), and 10,000 files in one directory.
 * The figure is the worker's own COLLECT timing (`phaseMs.collectMs`) of real jobs, so the job that
 * builds the tree costs nothing here. It measures the default sandbox driver, whose output dir is
 * the session's tmpfs.
 */
import { FailedPreconditionError, type JobResult, type WorkerClient } from "@opencode-worker/master-client";
import type { BenchOptions } from "./options.js";
import { median } from "./stats.js";
import type { WorkerProcess } from "./worker-process.js";

export const DEEP_LEVELS = 1000;
export const FLAT_FILES = 10_000;
const NAME = "d123456789";

// python3, not sh: a shell's `cd` resolves ever longer paths, fails past PATH_MAX and forks a mkdir per level.
const DEEP_JOB = [
  "import os",
  `os.chdir(os.environ["OPENCODE_OUTPUT_DIR"])`,
  `for _ in range(${DEEP_LEVELS}):`,
  `    os.mkdir("${NAME}")`,
  `    os.chdir("${NAME}")`,
  `open("leaf", "w").write("leaf")`,
].join("\n");
const FLAT_JOB = [
  "import os",
  `os.chdir(os.environ["OPENCODE_OUTPUT_DIR"])`,
  `for i in range(${FLAT_FILES}):`,
  `    open(f"f{i:05}", "w").write(str(i))`,
].join("\n");

export interface CaseFigures {
  /** COLLECT of each job, in order. */
  collectMs: number[];
  medianCollectMs: number;
  /** Collected by the last job (listed in its result). */
  artifacts: number;
  /** Length of the longest artifact path: the deep case must reach past PATH_MAX (4096). */
  longestPathBytes: number;
}

export type CollectOutcome = { measured: true; deep: CaseFigures; flat: CaseFigures; isolation: string } | { measured: false; why: string };

export async function measureCollect(worker: WorkerProcess, options: Pick<BenchOptions, "quick">): Promise<CollectOutcome> {
  const { isolationMode, isolationDetails } = worker.metricsAtStart;
  if (isolationMode !== "sandbox") {
    return {
      measured: false,
      why: `the worker runs jobs with isolation "${isolationMode}", not a sandbox: ${isolationDetails.join("; ")}`,
    };
  }
  const jobs = options.quick ? 2 : 5;
  const deep: JobResult[] = [];
  const flat: JobResult[] = [];
  try {
    // Alternating, so load from other processes falls on both cases alike.
    for (let round = 0; round < jobs; round++) {
      deep.push(await runPython(worker.client, DEEP_JOB));
      flat.push(await runPython(worker.client, FLAT_JOB));
    }
  } catch (error) {
    if (error instanceof FailedPreconditionError) return { measured: false, why: `the worker refuses jobs: ${error.message}` };
    throw error;
  }
  return { measured: true, deep: figures(deep), flat: figures(flat), isolation: deep[0]?.isolation ?? "" };
}

async function runPython(client: WorkerClient, program: string): Promise<JobResult> {
  const result = await client.run({ argv: ["python3", "-c", program], limits: { timeoutMs: 120_000 } });
  if (result.exitCode !== 0) throw new Error(`the job that builds the tree failed: ${result.message}: ${result.stderrText.slice(-500)}`);
  return result;
}

function figures(results: readonly JobResult[]): CaseFigures {
  const collectMs = results.map((result) => result.phaseMs.collectMs);
  const last = results[results.length - 1];
  if (!last || last.skippedArtifacts.length > 0) {
    throw new Error(`COLLECT skipped files it should have taken: ${JSON.stringify(last?.skippedArtifacts.slice(0, 3))}`);
  }
  return {
    collectMs,
    medianCollectMs: median(collectMs),
    artifacts: last.artifacts.length,
    longestPathBytes: Math.max(0, ...last.artifacts.map((artifact) => Buffer.byteLength(artifact.path))),
  };
}
