import type { ServerWritableStream } from "@grpc/grpc-js";
import type { StreamJobRequest, StreamJobResponse } from "@opencode-worker/shared";
import type { EventSink } from "../session/event-log.js";
import type { Job } from "../session/job.js";

/**
 * Connects a StreamJob call to a job's event log: replay after `afterSeq`, then live events until
 * `completed`, then the call ends. The call's own buffer is the backpressure signal (write() false
 * -> the job's pipes pause until 'drain'), so a slow consumer costs the worker no memory beyond it.
 * A quiet stream gets a keepalive event (repeating the latest seq) so proxies and clients can tell
 * a silent job from a dead connection.
 */
export function attachEventStream(
  call: ServerWritableStream<StreamJobRequest, StreamJobResponse>,
  job: Job,
  afterSeq: number,
  keepaliveMs: number,
): void {
  let lastWrite = performance.now();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    unsubscribe();
    call.off("drain", onDrain);
    call.end();
  };
  const sink: EventSink = {
    write(event) {
      if (ended) return true;
      lastWrite = performance.now();
      const ok = call.write({ event });
      if (event.kind?.$case === "completed") end();
      return ok;
    },
  };
  const onDrain = (): void => job.log.onDrain(sink);
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
