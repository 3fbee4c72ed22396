import { Metadata, status } from "@grpc/grpc-js";
import { encodeStatusDetails, STATUS_DETAILS_KEY, WorkerError, type WorkerErrorCode } from "@opencode-worker/shared";

/** The one table from the worker's error codes to gRPC status codes. */
const GRPC_STATUS: Record<WorkerErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  INTERNAL: status.INTERNAL,
};

/**
 * The gRPC status for any thrown value, for `callback(...)` or `call.emit("error", ...)`: the
 * error's context rides in the `grpc-status-details-bin` trailer (status-details.ts in shared).
 * Unknown errors become INTERNAL without leaking internals.
 */
export function toGrpcStatus(error: unknown): { code: status; details: string; metadata: Metadata } {
  const thrown = error instanceof WorkerError ? error : new WorkerError("INTERNAL", "internal worker error (see the worker's log)");
  const context = Object.fromEntries(Object.entries(thrown.context).map(([key, value]) => [key, bounded(value)]));
  const known = new WorkerError(thrown.code, bounded(thrown.message), context);
  const code = GRPC_STATUS[known.code];
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, encodeStatusDetails(code, known));
  return { code, details: known.message, metadata };
}

/**
 * A message or context value can hold what the caller sent (a job_id, a path), and the status goes
 * out in HTTP/2 headers (grpc-message percent-encoded, and the details trailer): past the peer's
 * header list limit (64 KiB in Node) the peer refuses them, and every call on that connection
 * stalls. So each text is cut, keeping the status well under the limit.
 */
const MAX_TEXT_CHARS = 1024;
function bounded(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}… (${text.length - MAX_TEXT_CHARS} more characters)` : text;
}
