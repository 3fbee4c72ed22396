import { formatBytes, type LatencySummary } from "@opencode-worker/master-client";
import type { JsonFlags } from "../command-line.js";
import { formatMs, printFields } from "../human-output.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/** `opencode-worker metrics`: the worker's load, outcomes, latencies and isolation (its GetMetrics). */
export async function metrics(flags: JsonFlags, configArgs: string[]): Promise<number> {
  const worker = await withWorker(flags, configArgs, (client) => client.metrics());
  if (flags.json) {
    printJson(worker);
    return 0;
  }
  printFields({
    worker: `${worker.workerId} (version ${worker.version}, up ${formatMs(worker.uptimeMs)}${worker.draining ? ", draining" : ""})`,
    isolation: worker.isolationMode,
    jobs: `${worker.active} running of ${worker.concurrency}, ${worker.queued} queued of ${worker.maxQueued}, ${worker.jobsTotal} since start`,
    outcomes: worker.outcomes.map(({ state, reason, count }) => `${state}/${reason} ${count}`).join(", ") || "none yet",
    "job latency": latency(worker.jobLatency),
    "queue latency": latency(worker.queueLatency),
    memory: `${formatBytes(worker.rssBytes)} RSS, ${formatBytes(worker.heapUsedBytes)} heap`,
    "retained results": `${worker.retainedResults} (${formatBytes(worker.retainedResultBytes)})`,
  });
  for (const line of worker.isolationDetails) process.stdout.write(`  ${line}\n`);
  return 0;
}

function latency({ count, p50Ms, p90Ms, p99Ms, maxMs }: LatencySummary): string {
  return count === 0
    ? "no jobs yet"
    : `p50 ${formatMs(p50Ms)}, p90 ${formatMs(p90Ms)}, p99 ${formatMs(p99Ms)}, max ${formatMs(maxMs)} (${count} jobs)`;
}
