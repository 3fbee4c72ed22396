/**
 * What a job's end and a worker's refusal become in the SDK: a result, a JobFailedError carrying the
 * whole result, or the SDK error class of the gRPC status.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  JobFailedError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from "../src/index.js";
import { dispatchEcho, finishedResult, grpcError, scriptedSetup } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

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
      message: "Command failed (exited with code 2): make",
    });
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
