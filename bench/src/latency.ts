/**
 * (a) and (e): dispatch-to-result latency of a trivial job through the SDK, against spawning the
 * same kind of process from node. Samples alternate in blocks between the two, so background load
 * on a shared machine falls on both alike.
 */
import type { JobResult, PhaseDurations, WorkerClient } from "@opencode-worker/master-client";
import { spawnToClose } from "./baselines/spawn.js";
import type { BenchOptions } from "./options.js";
import { type LatencyStats, median, summarize } from "./stats.js";
import { timeEach } from "./timing.js";

export const TRIVIAL_JOB = { argv: ["true"] };

export interface LatencyComparison {
  baseline: LatencyStats;
  worker: LatencyStats;
  /** Medians of what the worker itself reports per job: where the time inside the worker goes. */
  workerReportedMedianMs: { queueMs: number; durationMs: number } & PhaseDurations;
}

export async function compareLatency(
  client: WorkerClient,
  baselineArgv: readonly string[],
  options: Pick<BenchOptions, "warmupJobs" | "latencyJobs" | "rounds">,
): Promise<LatencyComparison> {
  const results: JobResult[] = [];
  const bare = (): Promise<void> => spawnToClose(baselineArgv);
  const job = async (): Promise<void> => {
    results.push(await client.run(TRIVIAL_JOB));
  };

  await timeEach(options.warmupJobs, bare);
  await timeEach(options.warmupJobs, job);
  results.length = 0;

  const baseline: number[] = [];
  const worker: number[] = [];
  const block = Math.ceil(options.latencyJobs / options.rounds);
  for (let done = 0; done < options.latencyJobs; done += block) {
    const size = Math.min(block, options.latencyJobs - done);
    baseline.push(...(await timeEach(size, bare)));
    worker.push(...(await timeEach(size, job)));
  }

  const reported = (pick: (result: JobResult) => number): number => median(results.map(pick));
  return {
    baseline: summarize(baseline),
    worker: summarize(worker),
    workerReportedMedianMs: {
      queueMs: reported((r) => r.queueMs),
      durationMs: reported((r) => r.durationMs),
      initMs: reported((r) => r.phaseMs.initMs),
      prepareMs: reported((r) => r.phaseMs.prepareMs),
      executeMs: reported((r) => r.phaseMs.executeMs),
      collectMs: reported((r) => r.phaseMs.collectMs),
      destroyMs: reported((r) => r.phaseMs.destroyMs),
    },
  };
}

/** One line on where a trivial job's time goes, for the notes under the table. */
export function describeBreakdown(comparison: LatencyComparison): string {
  const r = comparison.workerReportedMedianMs;
  return (
    `client p50 ${comparison.worker.p50Ms} ms; worker-reported medians: queue ${r.queueMs} ms, ` +
    `run ${r.durationMs} ms (init ${r.initMs}, prepare ${r.prepareMs}, execute ${r.executeMs}, ` +
    `collect ${r.collectMs}, destroy ${r.destroyMs}); the rest is RPCs and the SDK`
  );
}
