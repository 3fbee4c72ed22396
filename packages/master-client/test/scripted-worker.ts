/**
 * A real grpc-js server on port 0 whose handlers each test scripts, to produce on demand what a
 * real worker rarely does: a dropped stream, an expired round, a transient UNAVAILABLE.
 * Methods a test leaves out answer UNIMPLEMENTED (grpc-js's default).
 */
import {
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";

export interface ScriptedWorker {
  address: string;
  stop(): void;
}

export async function startScriptedWorker(handlers: Partial<wire.WorkerServiceServer>): Promise<ScriptedWorker> {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) if (handler) implementation[name] = handler;
  const server = new Server();
  server.addService(wire.WorkerServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  // Force: some scripted calls never answer, and a graceful shutdown would wait for them.
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

export function grpcError(code: status, details: string): ServerErrorResponse {
  return Object.assign(new Error(details), { code, details });
}

export function finishedResult(jobId: string, overrides: Partial<wire.JobResult> = {}): wire.JobResult {
  return wire.JobResult.create({
    jobId,
    sessionId: "session-1",
    state: wire.JobState.JOB_STATE_FINISHED,
    reason: wire.TerminationReason.TERMINATION_REASON_EXITED,
    exitCode: 0,
    stdout: Buffer.from("done\n"),
    message: "exited with code 0",
    ...overrides,
  });
}

/** The job's events as a worker would log them: seq 1..n, output chunks, then the result. */
export function scriptedEvents(jobId: string, chunks: { stream: "stdout" | "stderr"; text: string }[]): wire.JobEvent[] {
  const event = (seq: number, kind: wire.JobEvent["kind"]): wire.JobEvent => ({
    seq,
    timestampUnixMs: 1_700_000_000_000 + seq,
    jobId,
    kind,
  });
  const offsets = { stdout: 0, stderr: 0 };
  return [
    event(1, { $case: "accepted", value: { sessionId: "session-1", state: wire.JobState.JOB_STATE_QUEUED, queuePosition: 0 } }),
    ...chunks.map(({ stream, text }, index) => {
      const data = Buffer.from(text);
      const offset = offsets[stream];
      offsets[stream] += data.length;
      const wireStream =
        stream === "stdout" ? wire.OutputStream.OUTPUT_STREAM_STDOUT : wire.OutputStream.OUTPUT_STREAM_STDERR;
      return event(index + 2, { $case: "output", value: { stream: wireStream, data, offset } });
    }),
    event(chunks.length + 2, { $case: "completed", value: finishedResult(jobId) }),
  ];
}

/** Resolves when the server side of a call sees it cancelled by the client. */
/** A StreamJob handler that sends the events after the request's after_seq, then ends: an attach. */
export function replayAfterSeq(events: wire.JobEvent[]): wire.WorkerServiceServer["streamJob"] {
  return (call) => {
    for (const event of events.filter((e) => e.seq > Number(call.request.afterSeq))) call.write({ event });
    call.end();
  };
}

export function cancelledBy(call: { on(event: "cancelled", listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => call.on("cancelled", () => resolve()));
}
