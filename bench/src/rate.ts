/**
 * (b) trivial jobs per second with a fixed number in flight, against bare spawns at the same
 * concurrency. Rounds alternate between the two; the rate is all jobs over all time of each side.
 */
import type { WorkerClient } from "@opencode-worker/master-client";
import { spawnToClose, TRUE_ARGV } from "./baselines/spawn.js";
import { TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import { cpuPercent, readCpuMs } from "./proc-stat.js";
import { round } from "./report.js";
import { timePool } from "./timing.js";

export interface RateFigure {
  jobs: number;
  seconds: number;
  perSecond: number;
  /** CPU of the process doing the spawning (the bench, or the worker), in % of one core. */
  spawnerCpuPercent: number;
}

export async function compareRate(
  client: WorkerClient,
  workerPid: number,
  options: Pick<BenchOptions, "rateJobs" | "rateConcurrency" | "rounds" | "warmupJobs">,
): Promise<{ baseline: RateFigure; worker: RateFigure }> {
  const { rateConcurrency: concurrency } = options;
  const bare = (): Promise<void> => spawnToClose(TRUE_ARGV);
  const job = (): Promise<unknown> => client.run(TRIVIAL_JOB);

  await timePool(options.warmupJobs, concurrency, bare);
  await timePool(options.warmupJobs, concurrency, job);

  const totals = { baseline: { jobs: 0, ms: 0, cpuMs: 0 }, worker: { jobs: 0, ms: 0, cpuMs: 0 } };
  const block = Math.ceil(options.rateJobs / options.rounds);
  for (let done = 0; done < options.rateJobs; done += block) {
    const size = Math.min(block, options.rateJobs - done);

    const benchCpu = process.cpuUsage();
    totals.baseline.ms += await timePool(size, concurrency, bare);
    const used = process.cpuUsage(benchCpu);
    totals.baseline.cpuMs += (used.user + used.system) / 1000;
    totals.baseline.jobs += size;

    const workerCpu = await readCpuMs(workerPid);
    totals.worker.ms += await timePool(size, concurrency, job);
    totals.worker.cpuMs += (await readCpuMs(workerPid)) - workerCpu;
    totals.worker.jobs += size;
  }

  const figure = (side: { jobs: number; ms: number; cpuMs: number }): RateFigure => ({
    jobs: side.jobs,
    seconds: round(side.ms / 1000, 3),
    perSecond: round(side.jobs / (side.ms / 1000), 1),
    spawnerCpuPercent: cpuPercent(side.cpuMs, side.ms),
  });
  return { baseline: figure(totals.baseline), worker: figure(totals.worker) };
}
