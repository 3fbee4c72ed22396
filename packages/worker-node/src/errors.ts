import { WorkerError } from "@opencode-worker/shared";

/**
 * The worker's domain error: a closed code set with typed context, defined in
 * @opencode-worker/shared and free of gRPC. Only `server/grpc-status.ts` turns it into a status.
 */
export { WorkerError };
export type { WorkerErrorCode, WorkerErrorContext } from "@opencode-worker/shared";

/** Thrown when a request field is invalid; names the field and the bad value. */
export function invalidArgument(field: string, message: string): WorkerError {
  return new WorkerError("INVALID_ARGUMENT", `${field}: ${message}`, { field });
}
