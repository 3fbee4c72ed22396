/**
 * The SDK's transport behaviours against a real grpc-js server with scripted handlers: deadlines
 * versus job lifetime, retries, stream resume, cancellation, and statuses crossing the wire.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import {
  AlreadyExistsError,
  ConnectionError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  JobFailedError,
  JobNotFinishedError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
  WorkerClient,
  type WorkerClientOptions,
} from "../src/index.js";
import { cancelledBy, finishedResult, grpcError, replayAfterSeq, scriptedEvents, startScriptedWorker, type ScriptedWorker } from "./scripted-worker.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function start(handlers: Partial<wire.WorkerServiceServer>): Promise<ScriptedWorker> {
  const worker = await startScriptedWorker(handlers);
  cleanups.push(() => worker.stop());
  return worker;
}

function clientOf(worker: ScriptedWorker, options: WorkerClientOptions = {}): WorkerClient {
  const client = WorkerClient.lazy({
    address: worker.address,
    retry: { initialDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** Fails the test with a clear message instead of hanging until jest's timeout. */
async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
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

const dispatchEcho: wire.WorkerServiceServer["dispatch"] = (call, callback) =>
  callback(null, {
    jobId: call.request.spec?.jobId ?? "",
    sessionId: "session-1",
    state: wire.JobState.JOB_STATE_QUEUED,
    created: true,
  });

describe("wait(): the RPC deadline is not the job's lifetime", () => {
  it("asks again when a Collect round outlives requestTimeoutMs, until the job ends", async () => {
    const requestTimeoutMs = 250;
    const jobRunsMs = 3 * requestTimeoutMs;
    const rounds: boolean[] = [];
    let jobEndsAt: number | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      collect: (call, callback) => {
        rounds.push(call.request.wait);
        jobEndsAt ??= Date.now() + jobRunsMs;
        // Like the worker: block until the job ends. The client's deadline cuts the early rounds.
        const timer = setTimeout(
          () => callback(null, { result: finishedResult(call.request.jobId) }),
          Math.max(0, jobEndsAt - Date.now()),
        );
        call.on("cancelled", () => clearTimeout(timer));
      },
    });
    const client = clientOf(worker, { requestTimeoutMs });
    const job = await client.dispatch({ jobId: "long-job", command: "sleep 1", limits: { timeoutMs: 60_000 } });

    const startedAt = Date.now();
    const result = await job.wait();

    expect(result.state).toBe("finished");
    expect(result.jobId).toBe("long-job");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(jobRunsMs - 50);
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds.every((wait) => wait)).toBe(true);
  });

  it("asks again when the worker itself ends a round with DEADLINE_EXCEEDED", async () => {
    let rounds = 0;
    const worker = await start({
      dispatch: dispatchEcho,
      collect: (call, callback) => {
        rounds += 1;
        if (rounds === 1) return callback(grpcError(status.DEADLINE_EXCEEDED, "still running; ask again"));
        return callback(null, { result: finishedResult(call.request.jobId) });
      },
    });
    const job = await clientOf(worker).dispatch({ command: "true" });
    expect((await job.wait()).state).toBe("finished");
    expect(rounds).toBe(2);
  });

  it("collect() does not wait, and says the job has not finished", async () => {
    const worker = await start({
      dispatch: dispatchEcho,
      collect: (call, callback) =>
        callback(grpcError(status.FAILED_PRECONDITION, `job ${call.request.jobId} is running`)),
    });
    const job = await clientOf(worker).dispatch({ jobId: "busy", command: "sleep 9" });
    const error = await job.collect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobNotFinishedError);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error).toMatchObject({ code: "JOB_NOT_FINISHED", grpcCode: status.FAILED_PRECONDITION, jobId: "busy" });
  });
});

describe("run()", () => {
  it("resolves with the result of a finished job", async () => {
    const worker = await start({
      dispatch: dispatchEcho,
      collect: (call, callback) => callback(null, { result: finishedResult(call.request.jobId) }),
    });
    const result = await clientOf(worker).run({ command: "echo done" });
    expect([result.state, result.exitCode, result.stdoutText]).toEqual(["finished", 0, "done\n"]);
  });

  it("rejects with a JobFailedError carrying the whole result when the job failed", async () => {
    const worker = await start({
      dispatch: dispatchEcho,
      collect: (call, callback) =>
        callback(null, {
          result: finishedResult(call.request.jobId, {
            state: wire.JobState.JOB_STATE_FAILED,
            exitCode: 2,
            stderr: Buffer.from("make: *** [all] Error 2\n"),
            message: "exited with code 2",
          }),
        }),
    });
    const error = await clientOf(worker)
      .run({ jobId: "failing", command: "make" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({
      jobId: "failing",
      state: "failed",
      reason: "exited",
      exitCode: 2,
      stderrText: "make: *** [all] Error 2\n",
      message: "exited with code 2",
    });
  });

  it("cancels the job when the caller aborts, since nobody else holds a handle", async () => {
    const cancelled: string[] = [];
    const worker = await start({
      dispatch: dispatchEcho,
      collect: () => undefined, // the job runs on and on
      cancel: (call, callback) => {
        cancelled.push(call.request.jobId);
        callback(null, { state: wire.JobState.JOB_STATE_CANCELLED, cancelled: true });
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await clientOf(worker)
      .run({ jobId: "abandoned", command: "sleep 100" }, { signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortError");
    expect(cancelled).toEqual(["abandoned"]);
  });
});

describe("retries", () => {
  it("retries Status after UNAVAILABLE, then succeeds", async () => {
    let calls = 0;
    const worker = await start({
      status: (call, callback) => {
        calls += 1;
        if (calls === 1) return callback(grpcError(status.UNAVAILABLE, "worker restarting"));
        return callback(null, {
          status: wire.JobStatus.create({
            jobId: call.request.jobId,
            sessionId: "session-7",
            state: wire.JobState.JOB_STATE_RUNNING,
            lastSeq: 4,
          }),
        });
      },
    });
    const job = await clientOf(worker).job("job-7");
    expect([job.jobId, job.sessionId, calls]).toEqual(["job-7", "session-7", 2]);
  });

  it("gives up after maxAttempts with an UnavailableError", async () => {
    let calls = 0;
    const worker = await start({
      status: (_call, callback) => {
        calls += 1;
        callback(grpcError(status.UNAVAILABLE, "draining"));
      },
    });
    const error = await clientOf(worker, { retry: { maxAttempts: 4, initialDelayMs: 1 } })
      .job("job-7")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ jobId: "job-7", grpcCode: status.UNAVAILABLE, details: "draining" });
    expect(calls).toBe(4);
  });

  it("retries Dispatch with the same job_id, so the retry cannot start a second job", async () => {
    const received: string[] = [];
    const worker = await start({
      dispatch: (call, callback) => {
        received.push(call.request.spec?.jobId ?? "");
        if (received.length === 1) return callback(grpcError(status.UNAVAILABLE, "connection reset"));
        return dispatchEcho(call, callback);
      },
    });
    const job = await clientOf(worker).dispatch({ command: "true" });
    expect(received).toHaveLength(2);
    expect(received[0]).toMatch(wire.JOB_ID_PATTERN);
    expect(received[1]).toBe(received[0]);
    expect(job.jobId).toBe(received[0]);
  });
});

describe("events()", () => {
  it("resumes after a stream fails UNAVAILABLE mid-way, with nothing missing or repeated", async () => {
    const events = scriptedEvents("job-1", [
      { stream: "stdout", text: "a" },
      { stream: "stdout", text: "b" },
      { stream: "stderr", text: "c" },
      { stream: "stdout", text: "d" },
    ]);
    const attaches: { afterSeq: number; target: string | undefined }[] = [];
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        const afterSeq = Number(call.request.afterSeq);
        attaches.push({ afterSeq, target: call.request.target?.$case });
        const pending = events.filter((event) => event.seq > afterSeq);
        if (attaches.length === 1) {
          for (const event of pending.slice(0, 3)) call.write({ event });
          call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
          return;
        }
        for (const event of pending) call.write({ event });
        call.end();
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });

    const seen: number[] = [];
    const output: string[] = [];
    for await (const event of job.events()) {
      seen.push(event.seq);
      if (event.type === "output") output.push(event.data.toString());
    }

    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(output).toEqual(["a", "b", "c", "d"]);
    expect(attaches).toEqual([
      { afterSeq: 0, target: "jobId" },
      { afterSeq: 3, target: "jobId" },
    ]);
  });

  it("starts after afterSeq when asked", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: replayAfterSeq(events),
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });
    const types: string[] = [];
    for await (const event of job.events({ afterSeq: 2 })) types.push(event.type);
    expect(types).toEqual(["completed"]);
  });

  it("cancels the server call when the caller breaks out of for await", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[0] });
        call.write({ event: events[1] }); // then the job runs on: the stream stays open
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });

    for await (const event of job.events()) {
      expect(event.type).toBe("accepted");
      break;
    }

    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
  });

  it("ends with an AbortError when the signal fires, and cancels the server call", async () => {
    const events = scriptedEvents("job-1", []);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[0] });
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });
    const controller = new AbortController();
    const reason = new Error("enough");

    const error = await (async () => {
      for await (const event of job.events({ signal: controller.signal })) {
        if (event.type === "accepted") controller.abort(reason);
      }
    })().catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: "AbortError", cause: reason, jobId: "job-1" });
    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
  });
});

describe("AbortSignal on unary calls", () => {
  it("cancels the call: the caller gets an AbortError, the server sees 'cancelled'", async () => {
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      status: (call) => {
        serverCancelled = cancelledBy(call); // never answers
      },
    });
    const controller = new AbortController();
    const reason = new Error("user gave up");
    setTimeout(() => controller.abort(reason), 50);

    const error = await clientOf(worker)
      .job("job-1", { signal: controller.signal })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: "AbortError", cause: reason, code: "CANCELLED" });
    await within(serverCancelled ?? Promise.reject(new Error("no call arrived")), "the server to see 'cancelled'");
  });

  it("does not call at all with a signal that already fired", async () => {
    let calls = 0;
    const worker = await start({
      getMetrics: (_call, callback) => {
        calls += 1;
        callback(null, wire.GetMetricsResponse.create({}));
      },
    });
    await expect(clientOf(worker).metrics({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(calls).toBe(0);
  });
});

describe("statuses from the worker", () => {
  it.each([
    [status.INVALID_ARGUMENT, InvalidArgumentError, "INVALID_ARGUMENT"],
    [status.PERMISSION_DENIED, PermissionDeniedError, "PERMISSION_DENIED"],
    [status.RESOURCE_EXHAUSTED, ResourceExhaustedError, "RESOURCE_EXHAUSTED"],
    [status.ALREADY_EXISTS, AlreadyExistsError, "ALREADY_EXISTS"],
    [status.FAILED_PRECONDITION, FailedPreconditionError, "FAILED_PRECONDITION"],
    [status.INTERNAL, InternalError, "INTERNAL"],
  ])("turns gRPC status %p on Dispatch into the SDK's error, unretried", async (code, ErrorClass, ourCode) => {
    let calls = 0;
    const worker = await start({
      dispatch: (_call, callback) => {
        calls += 1;
        callback(grpcError(code, "limits.memory_bytes: 64 GiB is above this worker's maximum of 8 GiB"));
      },
    });
    const error = await clientOf(worker)
      .dispatch({ jobId: "job-3", command: "true" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toMatchObject({
      code: ourCode,
      grpcCode: code,
      details: "limits.memory_bytes: 64 GiB is above this worker's maximum of 8 GiB",
      jobId: "job-3",
    });
    expect(calls).toBe(1);
  });

  it("says which job was not found", async () => {
    const worker = await start({
      status: (call, callback) => callback(grpcError(status.NOT_FOUND, `no job ${call.request.jobId}`)),
    });
    const error = await clientOf(worker)
      .job("ghost")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ jobId: "ghost", grpcCode: status.NOT_FOUND });
  });
});

describe("readArtifact()", () => {
  const content = Buffer.from("0123456789abcdefghij");

  async function artifactWorker(requests: { offset: number; length: number }[]): Promise<ScriptedWorker> {
    return start({
      dispatch: dispatchEcho,
      readArtifact: (call) => {
        const offset = Number(call.request.offset);
        const length = Number(call.request.length);
        requests.push({ offset, length });
        const end = length === 0 ? content.length : Math.min(content.length, offset + length);
        for (let at = offset, chunk = 0; at < end; at += 4, chunk += 1) {
          // The first call breaks after two chunks, like a connection reset mid-transfer.
          if (requests.length === 1 && chunk === 2) {
            call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
            return;
          }
          call.write({ offset: at, data: content.subarray(at, Math.min(end, at + 4)), totalSizeBytes: content.length });
        }
        call.end();
      },
    });
  }

  it("resumes from the byte after the last one received", async () => {
    const requests: { offset: number; length: number }[] = [];
    const worker = await artifactWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    expect(await job.readArtifactBuffer("out/data.txt")).toEqual(content);
    expect(requests).toEqual([
      { offset: 0, length: 0 },
      { offset: 8, length: 0 },
    ]);
  });

  it("asks only for what is left of a range", async () => {
    const requests: { offset: number; length: number }[] = [];
    const worker = await artifactWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    const chunks: Buffer[] = [];
    for await (const chunk of job.readArtifact("out/data.txt", { offset: 2, length: 10 })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("23456789ab");
    expect(requests).toEqual([
      { offset: 2, length: 10 },
      { offset: 10, length: 2 },
    ]);
  });
});

describe("output beyond the head a result carries", () => {
  const stdout = Buffer.from("0123456789abcdefghij");
  const STDOUT = wire.OutputStream.OUTPUT_STREAM_STDOUT;

  async function outputWorker(requests: { stream: wire.OutputStream; offset: number }[]): Promise<ScriptedWorker> {
    const head = finishedResult("job-1", { stdout: stdout.subarray(0, 6), stdoutRetainedBytes: stdout.length, stdoutTotalBytes: stdout.length });
    return start({
      dispatch: dispatchEcho,
      collect: (_call, callback) => callback(null, { result: head }),
      readOutput: (call) => {
        const offset = Number(call.request.offset);
        requests.push({ stream: call.request.stream, offset });
        for (let at = offset, chunk = 0; at < stdout.length; at += 4, chunk += 1) {
          // The first call breaks after two chunks, like a connection reset mid-transfer.
          if (requests.length === 1 && chunk === 2) {
            call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
            return;
          }
          call.write({ offset: at, data: stdout.subarray(at, at + 4), retainedBytes: stdout.length, totalBytes: stdout.length });
        }
        call.end();
      },
    });
  }

  it("is read by wait() with ReadOutput from the end of the head, resumed after a dropped stream", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const result = await (await clientOf(worker).dispatch({ jobId: "job-1", command: "true" })).wait();
    expect(result.stdout).toEqual(stdout);
    expect([result.stdoutTruncated, result.stdoutRetainedBytes]).toEqual([false, stdout.length]);
    expect(requests).toEqual([
      { stream: STDOUT, offset: 6 },
      { stream: STDOUT, offset: 14 },
    ]);
  });

  it("stays on the worker with fullOutput: false, and readOutput() reads it", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    const result = await job.collect({ fullOutput: false });
    expect([result.stdout.toString(), result.stdoutTruncated]).toEqual(["012345", true]);
    expect(requests).toEqual([]);
    const chunks: Buffer[] = [];
    for await (const chunk of job.readOutput("stdout", { offset: result.stdout.length })) chunks.push(chunk as Buffer);
    expect(Buffer.concat([result.stdout, ...chunks])).toEqual(stdout);
  });

  it("refuses a fullOutput that is not a boolean before any call", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const client = clientOf(worker);
    await expect(client.run({ command: "true" }, { fullOutput: "yes" as unknown as boolean })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("onStdout() / onStderr()", () => {
  it("delivers each stream's chunks to its own listeners", async () => {
    const events = scriptedEvents("job-1", [
      { stream: "stdout", text: "a" },
      { stream: "stderr", text: "x" },
      { stream: "stdout", text: "b" },
    ]);
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: replayAfterSeq(events),
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const unsubscribes: (() => void)[] = [];
    cleanups.push(() => unsubscribes.forEach((unsubscribe) => unsubscribe()));
    await within(
      new Promise<void>((resolve) => {
        unsubscribes.push(
          job.onStdout((chunk) => {
            stdout.push(chunk.toString());
            if (stdout.length === 2) resolve();
          }),
        );
      }),
      "stdout",
    );
    await within(
      new Promise<void>((resolve) => {
        unsubscribes.push(
          job.onStderr((chunk) => {
            stderr.push(chunk.toString());
            resolve();
          }),
        );
      }),
      "stderr",
    );
    expect([stdout, stderr]).toEqual([["a", "b"], ["x"]]);
  });

  it("cancels the stream on unsubscribe", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[1] }); // then the job runs on
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });
    const errors: unknown[] = [];
    let unsubscribe = (): void => undefined;
    await within(
      new Promise<void>((resolve) => {
        unsubscribe = job.onStdout(() => resolve(), { onError: (error) => errors.push(error) });
      }),
      "the first chunk",
    );
    unsubscribe();
    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
    expect(errors).toEqual([]);
  });
});

describe("stream()", () => {
  it("dispatches with the spec and a job id chosen up front", async () => {
    const targets: (wire.StreamJobRequest["target"] | undefined)[] = [];
    const worker = await start({
      streamJob: (call) => {
        targets.push(call.request.target);
        const jobId = call.request.target?.$case === "spec" ? call.request.target.value.jobId : "";
        for (const event of scriptedEvents(jobId, [{ stream: "stdout", text: "hi" }])) call.write({ event });
        call.end();
      },
    });
    const stream = clientOf(worker).stream({ command: "echo hi" });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(["accepted", "output", "completed"]);
    expect(targets).toHaveLength(1);
    expect(targets[0]?.$case === "spec" && targets[0].value.jobId).toBe(stream.jobId);
    expect(stream.jobId).toMatch(wire.JOB_ID_PATTERN);
  });
});

describe("WorkerClient.connect()", () => {
  it("verifies with GetMetrics that a worker answers", async () => {
    const worker = await start({
      getMetrics: (_call, callback) =>
        callback(null, wire.GetMetricsResponse.create({ workerId: "w-1", isolationMode: "sandbox" })),
    });
    const client = await WorkerClient.connect({ address: worker.address, requestTimeoutMs: 2000 });
    cleanups.push(() => client.close());
    expect(await client.metrics()).toMatchObject({ workerId: "w-1", isolationMode: "sandbox" });
  });

  it("throws a ConnectionError when what answers is not a worker", async () => {
    const worker = await start({});
    const error = await WorkerClient.connect({ address: worker.address, requestTimeoutMs: 2000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).cause).toMatchObject({ grpcCode: status.UNIMPLEMENTED });
  });
});
