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
  const known = error instanceof WorkerError ? error : new WorkerError("INTERNAL", "internal worker error (see the worker's log)");
  const code = GRPC_STATUS[known.code];
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, encodeStatusDetails(code, known));
  return { code, details: known.message, metadata };
}
