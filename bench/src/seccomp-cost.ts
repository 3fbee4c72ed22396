/**
 * (f) what the sandbox's seccomp filter adds to the floor of a sandboxed job: bare bwrap running
 * /bin/true with the filter (written to fd 3, `--seccomp 3`) against the same without it. Samples
 * alternate one by one (there is no worker to warm up, and the difference is small against the
 * noise of a shared machine, which blocks of a hundred samples let fall on one side only). The CPU
 * the runs used (bwrap and everything it waited for) is counted too: load on the machine stretches
 * wall time, not CPU time.
 */
import { describeSeccompPolicy, seccompProgram } from "@opencode-worker/worker-node";
import { BWRAP_SECCOMP_TRUE_ARGV, BWRAP_TRUE_ARGV } from "./baselines/bwrap.js";
import { spawnToClose } from "./baselines/spawn.js";
import type { BenchOptions } from "./options.js";
import { readChildrenCpuMs } from "./proc-stat.js";
import { type LatencyStats, summarize } from "./stats.js";

interface Side {
  latency: LatencyStats;
  /** Mean CPU (user + system) of one run, in ms; the kernel counts it in 10 ms ticks, so only a mean over many runs means anything. */
  cpuMsPerRun: number;
}

export type SeccompOutcome =
  { measured: true; withFilter: Side; without: Side; instructions: number; policy: string } | { measured: false; why: string };

export async function compareSeccompCost(options: Pick<BenchOptions, "warmupJobs" | "latencyJobs">): Promise<SeccompOutcome> {
  let filter: Buffer;
  try {
    filter = seccompProgram();
    await spawnToClose(BWRAP_SECCOMP_TRUE_ARGV, filter);
  } catch (error) {
    return { measured: false, why: `bwrap with the seccomp filter cannot run: ${error instanceof Error ? error.message : String(error)}` };
  }
  const bare = sampler(() => spawnToClose(BWRAP_TRUE_ARGV));
  const filtered = sampler(() => spawnToClose(BWRAP_SECCOMP_TRUE_ARGV, filter));
  for (let i = 0; i < options.warmupJobs; i++) {
    await bare.warmUp();
    await filtered.warmUp();
  }
  for (let i = 0; i < options.latencyJobs; i++) {
    await bare.sample();
    await filtered.sample();
  }
  return {
    measured: true,
    withFilter: filtered.result(),
    without: bare.result(),
    instructions: filter.length / 8,
    policy: describeSeccompPolicy().summary,
  };
}

/** Times one side, one run at a time, with the CPU of the children it waited for. */
function sampler(run: () => Promise<void>) {
  const wallMs: number[] = [];
  let cpuMs = 0;
  return {
    warmUp: run,
    async sample(): Promise<void> {
      const cpuBefore = await readChildrenCpuMs(process.pid);
      const start = performance.now();
      await run();
      wallMs.push(performance.now() - start);
      cpuMs += (await readChildrenCpuMs(process.pid)) - cpuBefore;
    },
    result: (): Side => ({ latency: summarize(wallMs), cpuMsPerRun: Math.round((cpuMs / wallMs.length) * 100) / 100 }),
  };
}
