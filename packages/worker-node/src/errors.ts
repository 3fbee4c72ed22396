import { status } from "@grpc/grpc-js";

/**
 * The worker's closed set of error codes and the one table that maps them to gRPC status codes.
 * Everything the worker refuses is a WorkerError; handlers turn it into a status with `toGrpcStatus`.
 */
export type WorkerErrorCode =
  | "INVALID_ARGUMENT"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "INTERNAL";

const GRPC_STATUS: Record<WorkerErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  INTERNAL: status.INTERNAL,
};

export interface WorkerErrorContext {
  /** The spec field at fault, in proto snake_case: "limits.memory_bytes", "files[\"../x\"]". */
  field?: string;
  jobId?: string;
  sessionId?: string;
}

/** Thrown when the worker refuses a request; the message says what to change. */
export class WorkerError extends Error {
  override readonly name = "WorkerError";
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
    readonly context: WorkerErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown when a request field is invalid; names the field and the bad value. */
export function invalidArgument(field: string, message: string): WorkerError {
  return new WorkerError("INVALID_ARGUMENT", `${field}: ${message}`, { field });
}

/** The gRPC status for any thrown value; unknown errors become INTERNAL without leaking internals. */
export function toGrpcStatus(error: unknown): { code: status; details: string } {
  if (error instanceof WorkerError) return { code: GRPC_STATUS[error.code], details: error.message };
  return { code: status.INTERNAL, details: "internal worker error (see the worker's log)" };
}
