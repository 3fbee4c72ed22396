import { formatBytes } from "@opencode-worker/master-client";
import type { JsonFlags } from "../command-line.js";
import { formatMs, printTable } from "../human-output.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/** `opencode-worker ls`: the jobs that hold a session now, running and queued (ended ones are not listed). */
export async function ls(flags: JsonFlags, configArgs: string[]): Promise<number> {
  const sessions = await withWorker(flags, configArgs, (client) => client.listSessions());
  if (flags.json) {
    printJson({ sessions });
    return 0;
  }
  printTable(
    ["JOB", "STATE", "PHASE", "AGE", "CPU", "MEMORY", "PIDS"],
    sessions.map(({ jobId, state, phase, ageMs, usage }) => [
      jobId,
      state,
      phase,
      formatMs(ageMs),
      usage ? formatMs(usage.cpuTimeMs) : "-",
      usage ? formatBytes(usage.memoryBytes) : "-",
      usage ? String(usage.pids) : "-",
    ]),
  );
  return 0;
}
