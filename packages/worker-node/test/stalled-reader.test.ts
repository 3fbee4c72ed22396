import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as delay } from "node:timers/promises";
import { credentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { JobSpec, WorkerServiceClient, type JobEvent as WireJobEvent, type StreamJobResponse } from "@opencode-worker/shared";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";

// 40x the slow reader's pause: the real-OpenCode suites beside this one can stall an event loop for most of a second.
const STALLED_READER_TIMEOUT_MS = 2000;
const MiB = 1024 * 1024;

let t: TestWorker;
let raw: WorkerServiceClient;
beforeAll(async () => {
  t = await startTestWorker({ grpc: { stalled_reader_timeout_ms: STALLED_READER_TIMEOUT_MS } });
  raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await t.stop();
});

/** Dispatches and streams through a raw grpc-js call, which reads only when the test says so. */
function rawStream(jobId: string, command: string, limits: { timeoutMs: string; maxOutputBytes: string }) {
  const call: ClientReadableStream<StreamJobResponse> = raw.streamJob({
    target: { $case: "spec", value: JobSpec.fromPartial({ jobId, command, limits }) },
    afterSeq: "0",
  });
  const events: WireJobEvent[] = [];
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on("error", (error: ServiceError) => resolve(error));
    call.on("end", () => resolve(undefined));
  });
  return { call, events, ended };
}

/** The output bytes of `events`, checking that they are contiguous from offset 0. */
function outputBytes(events: WireJobEvent[]): number {
  let offset = 0;
  for (const event of events) {
    if (event.kind?.$case !== "output") continue;
    expect(Number(event.kind.value.offset)).toBe(offset);
    offset += event.kind.value.data.length;
  }
  return offset;
}

describe("a StreamJob reader that stops reading", () => {
  it("is cut after grpc.stalled_reader_timeout_ms, so the job runs on; it gets a resumable status after what it was sent", async () => {
    const size = 128 * MiB;
    const jobId = `stalled-${Date.now()}`;
    const stalled = rawStream(jobId, `head -c ${size} /dev/zero`, { timeoutMs: "15000", maxOutputBytes: String(size) });
    // One message, then no more until the job is over: the call's buffers fill and stay full. (A
    // grpc-js call never read at all is no test: it buffers every message it receives, unbounded.)
    stalled.call.once("data", ({ event }: StreamJobResponse) => {
      if (event) stalled.events.push(event);
      stalled.call.pause();
    });
    await eventually(async () => (await t.client.listSessions()).some((session) => session.jobId === jobId));
    const result = await (await t.client.job(jobId)).wait();
    // Held back by the stalled reader, the job would write little and time out.
    expect(result.reason).toBe("exited");
    expect(result.stdoutTotalBytes).toBe(size);

    stalled.call.on("data", ({ event }: StreamJobResponse) => event && stalled.events.push(event));
    stalled.call.resume();
    const error = await stalled.ended;
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.details).toContain("grpc.stalled_reader_timeout_ms");
    // Everything queued for it before the cut arrives, in order, and then nothing more.
    const received = outputBytes(stalled.events);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(size);
    expect(stalled.events.some((event) => event.kind?.$case === "completed")).toBe(false);
  });

  it("is not cut while it reads slowly, receives every byte, and still holds the job back (backpressure)", async () => {
    const size = 4 * MiB;
    const jobId = `slow-${Date.now()}`;
    const slow = rawStream(jobId, `head -c ${size} /dev/zero`, { timeoutMs: "60000", maxOutputBytes: String(size) });
    // One message per 50 ms, far less often than the stall timeout but far slower than the job.
    slow.call.on("data", ({ event }: StreamJobResponse) => {
      if (event) slow.events.push(event);
      slow.call.pause();
      setTimeout(() => slow.call.resume(), 50);
    });
    expect(await slow.ended).toBeUndefined();
    expect(outputBytes(slow.events)).toBe(size);
    expect(slow.events.at(-1)?.kind?.$case).toBe("completed");
    const result = await (await t.client.job(jobId)).wait();
    expect(result.stdoutTotalBytes).toBe(size);
    // Unimpeded it takes milliseconds; waiting for the reader, most of the reader's time.
    expect(result.durationMs).toBeGreaterThan(1000);
  });
});

describe("the SDK", () => {
  it("re-attaches after its paused consumer was cut, and delivers every byte exactly once, in order", async () => {
    const lines = 1_000_000;
    const expected = Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join("");
    // Within session.result_output_bytes, so the re-attach can replay everything after the last seq.
    expect(expected.length).toBeLessThan(t.worker.config.session.resultOutputBytes);
    const stream = t.client.stream({ command: `seq 1 ${lines}`, limits: { timeoutMs: 60_000 } });
    const chunks: Buffer[] = [];
    let endedDuringPause = false;
    for await (const event of stream) {
      if (event.type !== "output") continue;
      chunks.push(event.data);
      if (chunks.length === 1) {
        // The consumer stops reading for much longer than the stall timeout; the job must not wait.
        await delay(3 * STALLED_READER_TIMEOUT_MS);
        endedDuringPause = (await (await t.client.job(stream.jobId)).status()).ended;
      }
    }
    expect(endedDuringPause).toBe(true);
    const output = Buffer.concat(chunks).toString();
    expect(output.length).toBe(expected.length);
    expect(output === expected).toBe(true);
  });
});
