/**
 * Retries against a worker that fails transiently: which calls are tried again, how often, and
 * that a retried Dispatch cannot start a second job.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import { UnavailableError } from "../src/index.js";
import { dispatchEcho, grpcError, scriptedSetup } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

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
