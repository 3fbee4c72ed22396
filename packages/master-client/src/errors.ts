import { status } from "@grpc/grpc-js";
import type { StatusDetails, WorkerErrorCode } from "@opencode-worker/shared";
import { brandErrorClass } from "./error-brand.js";
import { withSdkFieldNames } from "./field-names.js";
import type { JobResult } from "./job-result.js";

/**
 * The SDK's closed set of error codes: the worker's own (from @opencode-worker/shared) and those
 * only a client meets. Every error the client throws for a call is a `WorkerClientError` carrying
 * one of these; `JobFailedError` (the job ran and did not finish cleanly) is the one failure
 * outside the tree, because it is a result, not a refused call.
 */
export type WorkerClientErrorCode = WorkerErrorCode | "JOB_NOT_FINISHED" | "CANCELLED" | "CONNECTION";

/** Typed context of an error: what the SDK knew about the call when it failed. */
export interface WorkerClientErrorContext {
  /** The gRPC status code the worker (or grpc-js) answered, when there was one. */
  grpcCode?: status;
  /** The status details as sent, without the SDK's hints. */
  details?: string;
  /** The job the call was about. */
  jobId?: string;
  /** The session the worker ran the job in, when it said. */
  sessionId?: string;
  /** The spec or option field at fault, as the SDK names it: "limits.memory", not the wire's "limits.memory_bytes". */
  field?: string;
  /** The worker's machine-readable cause (google.rpc.ErrorInfo reason), e.g. "INVALID_ARGUMENT". */
  reason?: string;
  cause?: unknown;
}

/** Base class of every error a client call throws; switch on `code` or use `instanceof`. */
export abstract class WorkerClientError extends Error {
  override name = "WorkerClientError";
  abstract readonly code: WorkerClientErrorCode;
  readonly grpcCode: status | undefined;
  readonly details: string | undefined;
  readonly jobId: string | undefined;
  readonly sessionId: string | undefined;
  readonly field: string | undefined;
  readonly reason: string | undefined;

  constructor(message: string, context: WorkerClientErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.grpcCode = context.grpcCode;
    this.details = context.details;
    this.jobId = context.jobId;
    this.sessionId = context.sessionId;
    this.field = context.field;
    this.reason = context.reason;
  }
}

/** Thrown when a spec or option is invalid, locally or by the worker; `field` names it either way. */
export class InvalidArgumentError extends WorkerClientError {
  override name = "InvalidArgumentError";
  override readonly code: WorkerClientErrorCode = "INVALID_ARGUMENT";
}

/** Thrown when the worker's policy refuses the request (a command, open network) or the caller is not authenticated. */
export class PermissionDeniedError extends WorkerClientError {
  override name = "PermissionDeniedError";
  override readonly code: WorkerClientErrorCode = "PERMISSION_DENIED";
}

/** Thrown when the worker's queue is full; retried only with `retry.retryResourceExhausted`. */
export class ResourceExhaustedError extends WorkerClientError {
  override name = "ResourceExhaustedError";
  override readonly code: WorkerClientErrorCode = "RESOURCE_EXHAUSTED";
}

/** Thrown when the worker does not know the job (never dispatched there, or its result has expired). */
export class NotFoundError extends WorkerClientError {
  override name = "NotFoundError";
  override readonly code: WorkerClientErrorCode = "NOT_FOUND";
}

/** Thrown when a `jobId` is dispatched again with a different spec; pick a new `jobId`. */
export class AlreadyExistsError extends WorkerClientError {
  override name = "AlreadyExistsError";
  override readonly code: WorkerClientErrorCode = "ALREADY_EXISTS";
}

/** Thrown when the worker cannot do it in its current state, e.g. the isolation it needs is unavailable. */
export class FailedPreconditionError extends WorkerClientError {
  override name = "FailedPreconditionError";
  override readonly code: WorkerClientErrorCode = "FAILED_PRECONDITION";
}

/** Thrown when `collect()` asks for the result of a job that is still queued or running; use `wait()`. */
export class JobNotFinishedError extends FailedPreconditionError {
  override name = "JobNotFinishedError";
  override readonly code: WorkerClientErrorCode = "JOB_NOT_FINISHED";
}

/** Thrown when the worker cannot be reached or is draining, after the retries the policy allows. */
export class UnavailableError extends WorkerClientError {
  override name = "UnavailableError";
  override readonly code: WorkerClientErrorCode = "UNAVAILABLE";
}

/** Thrown when one call outlives `requestTimeoutMs` (the RPC deadline, never the job's `limits.timeoutMs`). */
export class DeadlineExceededError extends WorkerClientError {
  override name = "DeadlineExceededError";
  override readonly code: WorkerClientErrorCode = "DEADLINE_EXCEEDED";
}

/** Thrown when a call was cancelled: by the worker, or by the caller (then it is an `AbortError`). */
export class CancelledError extends WorkerClientError {
  override name = "CancelledError";
  override readonly code: WorkerClientErrorCode = "CANCELLED";
}

/**
 * Thrown when the caller's `AbortSignal` fires; `cause` is the signal's reason. Named "AbortError"
 * so code written for `fetch` (`error.name === "AbortError"`) recognises it.
 */
export class AbortError extends CancelledError {
  override name = "AbortError";
}

/** Thrown when `WorkerClient.connect()` cannot reach a worker, or what answers is not one. */
export class ConnectionError extends WorkerClientError {
  override name = "ConnectionError";
  override readonly code: WorkerClientErrorCode = "CONNECTION";
}

/** Thrown when the worker fails internally or answers something this SDK cannot read. */
export class InternalError extends WorkerClientError {
  override name = "InternalError";
  override readonly code: WorkerClientErrorCode = "INTERNAL";
}

type ErrorClass = new (message: string, context: WorkerClientErrorContext) => WorkerClientError;

/**
 * The one table from gRPC status codes to error classes. Total over grpc-js's `status`, so a code
 * can never fall through; codes our worker does not send land on their nearest meaning.
 */
const ERROR_CLASS_BY_STATUS: Record<status, ErrorClass> = {
  [status.OK]: InternalError, // an error carrying OK is a broken peer
  [status.CANCELLED]: CancelledError,
  [status.UNKNOWN]: InternalError,
  [status.INVALID_ARGUMENT]: InvalidArgumentError,
  [status.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [status.NOT_FOUND]: NotFoundError,
  [status.ALREADY_EXISTS]: AlreadyExistsError,
  [status.PERMISSION_DENIED]: PermissionDeniedError,
  [status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [status.FAILED_PRECONDITION]: FailedPreconditionError,
  [status.ABORTED]: InternalError,
  [status.OUT_OF_RANGE]: InvalidArgumentError, // e.g. an artifact offset past its end
  [status.UNIMPLEMENTED]: InternalError, // an older worker, or not a worker at all
  [status.INTERNAL]: InternalError,
  [status.UNAVAILABLE]: UnavailableError,
  [status.DATA_LOSS]: InternalError,
  [status.UNAUTHENTICATED]: PermissionDeniedError,
};

/** What the SDK knew about a failed call, for the error's context and message. */
export interface FailedCall {
  /** The RPC, as the service definition names it ("collect"). */
  rpc: string;
  jobId?: string;
  /** The deadline the call had, to say which option to raise when it expired. */
  requestTimeoutMs?: number;
}

/**
 * Turns a status from the wire (a grpc-js `ServiceError`) and the context its trailer carried
 * (read by the transport) into the SDK's error for it. Field names, in the message and in `field`,
 * become the SDK's (field-names.ts).
 */
export function errorFromStatus(
  grpcError: { code: status; details: string },
  call: FailedCall,
  context: Partial<StatusDetails> = {},
): WorkerClientError {
  const ErrorClassForCode = ERROR_CLASS_BY_STATUS[grpcError.code] ?? InternalError;
  const message =
    grpcError.code === status.DEADLINE_EXCEEDED && call.requestTimeoutMs !== undefined
      ? `${call.rpc}: no answer within requestTimeoutMs (${call.requestTimeoutMs} ms); raise \`requestTimeoutMs\` ` +
        `(it bounds one call, not the job: that is \`limits.timeoutMs\`)`
      : `${call.rpc}: ${withSdkFieldNames(grpcError.details) || `gRPC status ${status[grpcError.code] ?? grpcError.code}`}`;
  return new ErrorClassForCode(message, {
    grpcCode: grpcError.code,
    details: grpcError.details,
    jobId: context.jobId ?? call.jobId,
    sessionId: context.sessionId,
    field: context.field === undefined ? undefined : withSdkFieldNames(context.field),
    reason: context.reason,
    cause: grpcError,
  });
}

/** The error a call rejects with when the caller's signal fires. */
export function abortError(signal: AbortSignal, jobId?: string): AbortError {
  return new AbortError("The operation was aborted", { cause: signal.reason, jobId });
}

/** The result's fields, which JobFailedError carries as its own (declaration merging). */
export interface JobFailedError extends Omit<JobResult, "message" | "stdoutText" | "stderrText"> {}

/**
 * Thrown by `run()` when the job ran but did not end "finished" (non-zero exit, timeout, limit,
 * cancel). Not a refused call: it carries the whole result, and its message names the command and
 * says what happened: "Command failed (exited with code 2): make test".
 */
export class JobFailedError extends Error implements JobResult {
  override name = "JobFailedError";

  /** `command` is the job's shell line or argv as the caller would type it, named in the message (execa does). */
  constructor(result: JobResult, command: string) {
    super(`Command failed (${result.message}): ${command}`);
    // Every data field of the result, whatever JobResult grows to hold; the text getters below
    // decode on demand, as the result's own do.
    for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(result))) {
      if (key !== "message" && "value" in descriptor) Object.defineProperty(this, key, { ...descriptor, enumerable: true });
    }
  }

  get stdoutText(): string {
    return this.stdout.toString("utf8");
  }

  get stderrText(): string {
    return this.stderr.toString("utf8");
  }
}

// After every class is defined: each gets its own brand, so `instanceof` works across package copies.
for (const [errorClass, name] of [
  [WorkerClientError, "WorkerClientError"],
  [InvalidArgumentError, "InvalidArgumentError"],
  [PermissionDeniedError, "PermissionDeniedError"],
  [ResourceExhaustedError, "ResourceExhaustedError"],
  [NotFoundError, "NotFoundError"],
  [AlreadyExistsError, "AlreadyExistsError"],
  [FailedPreconditionError, "FailedPreconditionError"],
  [JobNotFinishedError, "JobNotFinishedError"],
  [UnavailableError, "UnavailableError"],
  [DeadlineExceededError, "DeadlineExceededError"],
  [CancelledError, "CancelledError"],
  [AbortError, "AbortError"],
  [ConnectionError, "ConnectionError"],
  [InternalError, "InternalError"],
  [JobFailedError, "JobFailedError"],
] as const) {
  brandErrorClass(errorClass, name);
}
