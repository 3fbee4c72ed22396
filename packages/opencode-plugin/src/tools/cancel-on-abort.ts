import { NotFoundError, type WorkerClient } from "@opencode-worker/master-client";

/**
 * Runs a tool's wait on a job; when the user stops the tool call (Esc in opencode) the job is
 * cancelled on the worker, so its whole process tree stops, and the answer says so.
 */
export async function cancelOnAbort(
  client: WorkerClient,
  jobId: string,
  signal: AbortSignal,
  body: () => Promise<string>,
): Promise<string> {
  try {
    return await body();
  } catch (error) {
    if (!signal.aborted) throw error;
    const job = await client.job(jobId).catch((lookup: unknown) => {
      if (lookup instanceof NotFoundError) return undefined;
      throw lookup;
    });
    if (job === undefined) return `the tool call was stopped before job ${jobId} reached the worker`;
    const outcome = await job.cancel("the tool call was stopped in opencode");
    return `job ${jobId} ${outcome.cancelled ? "cancelled: the tool call was stopped" : `had already ended (${outcome.state})`}`;
  }
}
