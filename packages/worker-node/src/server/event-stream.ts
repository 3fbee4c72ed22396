import type { ServerWritableStream } from "@grpc/grpc-js";
import type { StreamJobRequest, StreamJobResponse } from "@opencode-worker/shared";
import { WorkerError } from "../errors.js";
import type { EventSink } from "../session/event-log.js";
import type { Job } from "../session/job.js";
import { toGrpcStatus } from "./grpc-status.js";

export interface EventStreamTimings {
  /** A quiet stream gets a keepalive event after this long. */
  keepaliveMs: number;
  /** A congested call that has sent nothing for this long is cut, so the job runs on. */
  stalledReaderTimeoutMs: number;
}

/**
 * Connects a StreamJob call to a job's event log: replay after `afterSeq`, then live events until
 * `completed`, then the call ends. The call's own buffer is the backpressure signal (write() false
 * -> the job's pipes pause until 'drain'), so a slow consumer costs the worker no memory beyond it.
 * A quiet stream gets a keepalive event (repeating the latest seq) so proxies and clients can tell
 * a silent job from a dead connection.
 *
 * A reader that stops reading must not hold the job for longer than `stalledReaderTimeoutMs`: once
 * the call is congested, every message that leaves its buffer is progress; with none for that long,
 * the call leaves the log (the job's pipes resume) and ends UNAVAILABLE, which the SDK retries with
 * after_seq = the last seq it received. grpc-js sends that status only after the messages already
 * queued, so the reader loses nothing it was sent, and the call holds no more than its buffer meanwhile.
 */
export function attachEventStream(
  call: ServerWritableStream<StreamJobRequest, StreamJobResponse>,
  job: Job,
  afterSeq: number,
  { keepaliveMs, stalledReaderTimeoutMs }: EventStreamTimings,
): void {
  let lastWrite = performance.now();
  let ended = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const detach = (): void => {
    ended = true;
    clearInterval(keepalive);
    clearTimeout(stallTimer);
    unsubscribe();
    call.off("drain", onDrain);
  };
  const end = (): void => {
    if (ended) return;
    detach();
    call.end();
  };
  const cut = (): void => {
    if (ended) return;
    detach();
    const stalled = new WorkerError(
      "UNAVAILABLE",
      `the reader took no message for grpc.stalled_reader_timeout_ms (${stalledReaderTimeoutMs} ms) while job ${job.jobId} ` +
        "was writing; attach again with after_seq = the last seq received",
      { jobId: job.jobId, reason: "STALLED_READER" },
    );
    call.emit("error", toGrpcStatus(stalled));
  };
  // A message left the call's buffer: the reader is slow, not stalled.
  const progressed = (): void => void stallTimer?.refresh();
  const sink: EventSink = {
    write(event) {
      if (ended) return true;
      lastWrite = performance.now();
      const ok = call.write({ event }, progressed);
      if (event.kind?.$case === "completed") end();
      else if (!ok) stallTimer ??= setTimeout(cut, stalledReaderTimeoutMs);
      return ok;
    },
  };
  const onDrain = (): void => {
    clearTimeout(stallTimer);
    stallTimer = undefined;
    job.log.onDrain(sink);
  };
  call.on("drain", onDrain);
  const keepalive = setInterval(
    () => {
      if (performance.now() - lastWrite < keepaliveMs) return;
      lastWrite = performance.now();
      call.write({
        event: { seq: job.log.lastSeq, timestampUnixMs: Date.now(), jobId: job.jobId, kind: { $case: "keepalive", value: {} } },
      });
    },
    Math.max(100, keepaliveMs / 2),
  );
  let unsubscribe: () => void = () => {};
  unsubscribe = job.log.subscribe(sink, afterSeq);
  // Replay may have delivered `completed` already, or the caller has seen everything of an ended job.
  if (ended || job.log.isClosed) return end();
  call.on("cancelled", end);
}
