import type { StreamJobRequest } from "@opencode-worker/shared";
import { fromWireEvent } from "./convert.js";
import type { JobEvent } from "./job-event.js";
import type { Transport } from "./transport.js";

export interface JobEventsOptions {
  /** Only events with a greater seq: resume from a seq you have already seen. @default 0, from the start */
  afterSeq?: number;
  /** Ends the iteration (and the call) with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * A job's events, in seq order, ending with its "completed" event. When the stream breaks with a
 * retryable status the SDK re-attaches with after_seq = the last seq it delivered, so nothing is
 * lost or delivered twice; breaking out of `for await` cancels the call.
 *
 * `target` is the job_id to attach to, or a spec to dispatch (idempotent by its job_id, so every
 * re-attach may send it again).
 */
export async function* jobEvents(
  transport: Transport,
  target: NonNullable<StreamJobRequest["target"]>,
  jobId: string,
  options: JobEventsOptions,
): AsyncGenerator<JobEvent, void, undefined> {
  let lastSeq = options.afterSeq ?? 0;
  const responses = transport.stream("streamJob", () => ({ target, afterSeq: String(lastSeq) }), {
    signal: options.signal,
    jobId,
  });
  for await (const { event } of responses) {
    if (event === undefined) continue;
    const converted = fromWireEvent(event);
    // Keepalives are not part of the replayable sequence, so they neither move nor need the resume point.
    if (converted?.type !== "keepalive") {
      // A worker that replays more than asked must not make the caller see an event twice.
      if (event.seq <= lastSeq) continue;
      lastSeq = event.seq;
    }
    if (converted === undefined) continue;
    yield converted;
    if (converted.type === "completed") return;
  }
}
