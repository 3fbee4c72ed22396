import type { CancelFlags } from "../command-line.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/** `opencode-worker cancel JOB`: stops the job and its whole tree; returns once the session is gone. */
export async function cancel(flags: CancelFlags, configArgs: string[], jobId: string): Promise<number> {
  const reason = flags.reason ?? "cancelled with opencode-worker cancel";
  const outcome = await withWorker(flags, configArgs, async (client) => (await client.job(jobId)).cancel(reason));
  if (flags.json) printJson({ jobId, ...outcome });
  else
    process.stdout.write(`job ${jobId}: ${outcome.cancelled ? "cancelled" : `not cancelled, it had already ended (${outcome.state})`}\n`);
  return 0;
}
