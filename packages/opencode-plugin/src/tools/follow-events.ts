import type { ToolContext } from "@opencode-ai/plugin";
import type { JobEvent, JobResult } from "@opencode-worker/master-client";
import { OutputDigest } from "../report/output-digest.js";
import { readableText } from "../report/text-cut.js";

/** How often the opencode UI is told about new output, at most. */
const PROGRESS_INTERVAL_MS = 250;
/** The live preview shows the end of the output, like a terminal would. */
const PREVIEW_BYTES = 4096;

/** What following a job's events gathered: digests of both streams, the last seq, the result if it came. */
export interface FollowedJob {
  stdout: OutputDigest;
  stderr: OutputDigest;
  lastSeq: number;
  result: JobResult | undefined;
}

/**
 * Reads a job's events to their end, keeping only what a model will be shown, and shows the latest
 * output live in the opencode UI through the tool context. When `deadline` aborts the iteration, it
 * returns what it gathered (without a result); any other failure is thrown.
 */
export async function followEvents(
  jobId: string,
  events: AsyncIterable<JobEvent>,
  context: Pick<ToolContext, "metadata">,
  window: number,
  options: { afterSeq?: number; deadline?: AbortSignal } = {},
): Promise<FollowedJob> {
  const afterSeq = options.afterSeq ?? 0;
  const followed: FollowedJob = {
    stdout: new OutputDigest(window),
    stderr: new OutputDigest(window),
    lastSeq: afterSeq,
    result: undefined,
  };
  let shownAt = 0;
  let state = "queued";
  const show = (): void => {
    shownAt = Date.now();
    const preview = Buffer.concat([followed.stderr.latest(PREVIEW_BYTES / 4), followed.stdout.latest(PREVIEW_BYTES)]);
    context.metadata({ title: `job ${jobId}: ${state}`, metadata: { jobId, state, output: readableText(preview) } });
  };
  try {
    for await (const event of events) {
      if (event.type !== "keepalive") followed.lastSeq = event.seq;
      if (event.type === "output") followed[event.stream].push(event.data);
      else if (event.type === "phase" || event.type === "accepted") state = event.state;
      else if (event.type === "completed") {
        followed.result = event.result;
        state = event.result.state;
      }
      if (event.type === "completed" || Date.now() - shownAt >= PROGRESS_INTERVAL_MS) show();
    }
  } catch (error) {
    if (!options.deadline?.aborted) throw error;
  }
  return followed;
}
