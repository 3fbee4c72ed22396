/**
 * wait() against the RPC deadline: a Collect round ends at requestTimeoutMs, the job lives on until
 * its own timeoutMs, so the SDK asks again until the job ends.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import { FailedPreconditionError, JobNotFinishedError } from "../src/index.js";
import { dispatchEcho, finishedResult, grpcError, scriptedSetup } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

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
        const timer = setTimeout(() => callback(null, { result: finishedResult(call.request.jobId) }), Math.max(0, jobEndsAt - Date.now()));
        call.on("cancelled", () => clearTimeout(timer));
      },
    });
    const client = clientOf(worker, { requestTimeoutMs });
    // The first call also connects: it gets room, so only the Collect rounds run against the short deadline.
    const job = await client.dispatch(
      { jobId: "long-job", command: "sleep 1", limits: { timeoutMs: 60_000 } },
      { requestTimeoutMs: 10_000 },
    );

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
      collect: (call, callback) => callback(grpcError(status.FAILED_PRECONDITION, `job ${call.request.jobId} is running`)),
    });
    const job = await clientOf(worker).dispatch({ jobId: "busy", command: "sleep 9" });
    const error = await job.collect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobNotFinishedError);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error).toMatchObject({ code: "JOB_NOT_FINISHED", grpcCode: status.FAILED_PRECONDITION, jobId: "busy" });
  });
});
