/**
 * The closed set of codes the worker answers with, shared by both sides of the wire. The names are
 * gRPC's, but nothing here depends on gRPC: the worker's `server/` maps a code to a status, and the
 * SDK maps a status back to its error class.
 */
export type WorkerErrorCode =
  | "INVALID_ARGUMENT"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "RESOURCE_EXHAUSTED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "INTERNAL";

/** What a refusal is about, carried across the wire in the status details (status-details.ts). */
export interface WorkerErrorContext {
  /** The request field at fault, as the proto names it: "limits.memory_bytes", "files[\"../x\"]". */
  field?: string;
  /** A machine-readable cause finer than the code, in UPPER_SNAKE_CASE; the code when not set. */
  reason?: string;
  jobId?: string;
  sessionId?: string;
}

/** Thrown when the worker refuses a request or fails; the message says what to change. */
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
