import { formatBytes } from "@opencode-worker/master-client";
import type { JsonFlags } from "../command-line.js";
import { formatMs, printFields } from "../human-output.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/** `opencode-worker status JOB`: a job's state, phase, timings and usage; never waits. */
export async function status(flags: JsonFlags, configArgs: string[], jobId: string): Promise<number> {
  const jobStatus = await withWorker(flags, configArgs, async (client) => (await client.job(jobId)).status());
  if (flags.json) {
    printJson(jobStatus);
    return 0;
  }
  const { usage } = jobStatus;
  printFields({
    job: jobStatus.jobId,
    session: jobStatus.sessionId,
    state: jobStatus.state,
    phase: jobStatus.phase,
    reason: jobStatus.reason,
    created: jobStatus.createdAt.toISOString(),
    started: jobStatus.startedAt?.toISOString(),
    ended: jobStatus.endedAt?.toISOString(),
    queued: formatMs(jobStatus.queueMs),
    elapsed: formatMs(jobStatus.elapsedMs),
    cpu: usage && formatMs(usage.cpuTimeMs),
    memory: usage && `${formatBytes(usage.memoryBytes)} (peak ${formatBytes(usage.memoryPeakBytes)})`,
    pids: usage?.pids,
    "last seq": jobStatus.lastSeq,
  });
  return 0;
}
