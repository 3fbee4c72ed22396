/**
 * A real grpc-js server on port 0 whose handlers each test scripts, to produce on demand what a
 * real worker rarely does: a dropped stream, an expired round, a transient UNAVAILABLE.
 * Methods a test leaves out answer UNIMPLEMENTED (grpc-js's default).
 */
import { Server, ServerCredentials, type ServerErrorResponse, type status, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { afterEach } from "@jest/globals";
import * as wire from "@opencode-worker/shared";
import { WorkerClient, type WorkerClientOptions } from "../src/index.js";

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
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
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
      const wireStream = stream === "stdout" ? wire.OutputStream.OUTPUT_STREAM_STDOUT : wire.OutputStream.OUTPUT_STREAM_STDERR;
      return event(index + 2, { $case: "output", value: { stream: wireStream, data, offset } });
    }),
    event(chunks.length + 2, { $case: "completed", value: finishedResult(jobId) }),
  ];
}

/** A StreamJob handler that sends the events after the request's after_seq, then ends: an attach. */
export function replayAfterSeq(events: wire.JobEvent[]): wire.WorkerServiceServer["streamJob"] {
  return (call) => {
    for (const event of events.filter((e) => e.seq > Number(call.request.afterSeq))) call.write({ event });
    call.end();
  };
}

/** Resolves when the server side of a call sees it cancelled by the client. */
export function cancelledBy(call: { on(event: "cancelled", listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => call.on("cancelled", () => resolve()));
}

/** A Dispatch handler that accepts any job under the job_id the client chose. */
export const dispatchEcho: wire.WorkerServiceServer["dispatch"] = (call, callback) =>
  callback(null, {
    jobId: call.request.spec?.jobId ?? "",
    sessionId: "session-1",
    state: wire.JobState.JOB_STATE_QUEUED,
    created: true,
  });

/** Fails the test with a clear message instead of hanging until jest's timeout. */
export async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ScriptedSetup {
  /** A scripted worker, stopped after the test. */
  start(handlers: Partial<wire.WorkerServiceServer>): Promise<ScriptedWorker>;
  /** A lazy client of `worker` with short retry pauses, closed after the test. */
  clientOf(worker: ScriptedWorker, options?: WorkerClientOptions): WorkerClient;
  /** Runs `cleanup` after the test; cleanups run newest first, so before the client it uses is closed. */
  defer(cleanup: () => void): void;
}

/**
 * The setup every SDK test file shares; call it once at the top of the file. Whatever a test starts
 * is closed after it, even when it fails, so no test sees another's server or channel.
 */
export function scriptedSetup(): ScriptedSetup {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  return {
    async start(handlers) {
      const worker = await startScriptedWorker(handlers);
      cleanups.push(() => worker.stop());
      return worker;
    },
    clientOf(worker, options = {}) {
      const client = WorkerClient.lazy({ address: worker.address, retry: { initialDelayMs: 5, maxDelayMs: 20 }, ...options });
      cleanups.push(() => client.close());
      return client;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
