import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import { fromWireResult } from "./convert.js";
import {
  AbortError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  errorFromStatus,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  JobFailedError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
  WorkerClientError,
  abortError,
} from "./errors.js";

describe("errorFromStatus", () => {
  it.each([
    [status.OK, InternalError, "INTERNAL"],
    [status.CANCELLED, CancelledError, "CANCELLED"],
    [status.UNKNOWN, InternalError, "INTERNAL"],
    [status.INVALID_ARGUMENT, InvalidArgumentError, "INVALID_ARGUMENT"],
    [status.DEADLINE_EXCEEDED, DeadlineExceededError, "DEADLINE_EXCEEDED"],
    [status.NOT_FOUND, NotFoundError, "NOT_FOUND"],
    [status.ALREADY_EXISTS, AlreadyExistsError, "ALREADY_EXISTS"],
    [status.PERMISSION_DENIED, PermissionDeniedError, "PERMISSION_DENIED"],
    [status.RESOURCE_EXHAUSTED, ResourceExhaustedError, "RESOURCE_EXHAUSTED"],
    [status.FAILED_PRECONDITION, FailedPreconditionError, "FAILED_PRECONDITION"],
    [status.ABORTED, InternalError, "INTERNAL"],
    [status.OUT_OF_RANGE, InvalidArgumentError, "INVALID_ARGUMENT"],
    [status.UNIMPLEMENTED, InternalError, "INTERNAL"],
    [status.INTERNAL, InternalError, "INTERNAL"],
    [status.UNAVAILABLE, UnavailableError, "UNAVAILABLE"],
    [status.DATA_LOSS, InternalError, "INTERNAL"],
    [status.UNAUTHENTICATED, PermissionDeniedError, "PERMISSION_DENIED"],
  ])("maps gRPC status %p to %p", (code, ErrorClass, ourCode) => {
    const error = errorFromStatus({ code, details: "what the worker said" }, { rpc: "status", jobId: "job-1" });
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(WorkerClientError);
    expect(error.constructor).toBe(ErrorClass);
    expect(error.code).toBe(ourCode);
    expect(error.grpcCode).toBe(code);
    expect(error.details).toBe("what the worker said");
    expect(error.jobId).toBe("job-1");
    expect(error.name).toBe(ErrorClass.name);
  });

  it("covers every gRPC status code grpc-js knows", () => {
    const codes = Object.values(status).filter((value): value is status => typeof value === "number");
    expect(codes).toHaveLength(17);
    for (const code of codes) {
      expect(errorFromStatus({ code, details: "" }, { rpc: "status" })).toBeInstanceOf(WorkerClientError);
    }
  });

  it("keeps the wire error as the cause", () => {
    const wireError = { code: status.NOT_FOUND, details: "no job x" };
    expect(errorFromStatus(wireError, { rpc: "status" }).cause).toBe(wireError);
  });

  it("takes field, reason, job and session from the trailer's context, with the SDK's field names", () => {
    const error = errorFromStatus(
      { code: status.INVALID_ARGUMENT, details: "limits.memory_bytes: 9 GiB exceeds the worker's maximum (governance.max_memory_bytes)" },
      { rpc: "dispatch", jobId: "job-1" },
      { reason: "INVALID_ARGUMENT", field: "limits.memory_bytes", jobId: "job-2", sessionId: "s-2" },
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect([error.field, error.reason, error.jobId, error.sessionId]).toEqual(["limits.memory", "INVALID_ARGUMENT", "job-2", "s-2"]);
    expect(error.message).toBe("dispatch: limits.memory: 9 GiB exceeds the worker's maximum (governance.max_memory_bytes)");
    // What the worker sent stays available as sent.
    expect(error.details).toMatch(/^limits\.memory_bytes:/);
  });

  it("names requestTimeoutMs when a call's deadline expired, not the job's timeout", () => {
    const error = errorFromStatus(
      { code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded" },
      { rpc: "collect", requestTimeoutMs: 1234 },
    );
    expect(error.message).toContain("requestTimeoutMs (1234 ms)");
    expect(error.message).toContain("limits.timeoutMs");
  });
});

describe("abortError", () => {
  it("is an AbortError whose cause is the signal's reason", () => {
    const controller = new AbortController();
    const reason = new Error("user pressed ^C");
    controller.abort(reason);
    const error = abortError(controller.signal, "job-1");
    expect(error.name).toBe("AbortError");
    expect(error.cause).toBe(reason);
    expect(error.jobId).toBe("job-1");
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.code).toBe("CANCELLED");
  });
});

describe("JobFailedError", () => {
  const result = fromWireResult({
    ...wire.JobResult.create({
      jobId: "job-9",
      sessionId: "s-9",
      state: wire.JobState.JOB_STATE_FAILED,
      reason: wire.TerminationReason.TERMINATION_REASON_EXITED,
      exitCode: 2,
      stdout: Buffer.from("out"),
      stderr: Buffer.from("err"),
      message: "exited with code 2",
      unenforcedLimits: ["max_disk_bytes: not enforced"],
      metrics: { durationMs: 40, workerId: "w-1" },
    }),
  });

  it("carries exactly the fields of the result, and a message naming the command", () => {
    const error = new JobFailedError(result, "make test");
    for (const key of Object.keys(result) as (keyof typeof result)[]) {
      // The message is the result's, with the command named (asserted below).
      if (key !== "message") expect([key, error[key]]).toEqual([key, result[key]]);
    }
    // Own fields, plus what Error and the getters provide, are the result's fields and nothing more.
    expect(new Set([...Object.keys(error), "message", "stdoutText", "stderrText"])).toEqual(new Set([...Object.keys(result), "name"]));
    expect(error.message).toBe("Command failed (exited with code 2): make test");
    expect(error.name).toBe("JobFailedError");
    expect(error.stdoutText).toBe("out");
    expect(error.stderrText).toBe("err");
  });

  it("is not a refused call", () => {
    expect(new JobFailedError(result, "make test")).not.toBeInstanceOf(WorkerClientError);
  });
});
