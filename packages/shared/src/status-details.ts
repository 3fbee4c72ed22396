import { BadRequest, ErrorInfo } from "./generated/google/rpc/error_details.pb.js";
import { Status } from "./generated/google/rpc/status.pb.js";
import type { WorkerErrorCode, WorkerErrorContext } from "./worker-error.js";

/**
 * gRPC's rich error model: a failed call's context travels in the `grpc-status-details-bin`
 * trailer as a google.rpc.Status, so any gRPC client (not only ours) can read which field, job and
 * reason a refusal is about without parsing the message.
 */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** ErrorInfo.domain of every error the worker raises. */
export const ERROR_DOMAIN = "opencode.worker.v1";

const TYPE_PREFIX = "type.googleapis.com/";
const ERROR_INFO_TYPE = `${TYPE_PREFIX}google.rpc.ErrorInfo`;
const BAD_REQUEST_TYPE = `${TYPE_PREFIX}google.rpc.BadRequest`;

/** The context a status carries; `reason` is always set (ErrorInfo requires it). */
export type StatusDetails = WorkerErrorContext & { reason: string };

/**
 * The trailer's bytes for an error sent with gRPC status `grpcCode`: a google.rpc.Status with an
 * ErrorInfo (reason, domain, metadata field / job_id / session_id) and, for INVALID_ARGUMENT
 * naming a field, a BadRequest with that one FieldViolation.
 */
export function encodeStatusDetails(
  grpcCode: number,
  error: { code: WorkerErrorCode; message: string; context: WorkerErrorContext },
): Buffer {
  const { field, reason, jobId, sessionId } = error.context;
  const metadata = new Map<string, string>();
  if (field !== undefined) metadata.set("field", field);
  if (jobId !== undefined) metadata.set("job_id", jobId);
  if (sessionId !== undefined) metadata.set("session_id", sessionId);
  // The generated Any holds a Buffer (env=node).
  const errorInfo = Buffer.from(ErrorInfo.encode({ reason: reason ?? error.code, domain: ERROR_DOMAIN, metadata }).finish());
  const details = [{ typeUrl: ERROR_INFO_TYPE, value: errorInfo }];
  if (error.code === "INVALID_ARGUMENT" && field !== undefined) {
    const fieldViolations = [{ field, description: error.message }];
    details.push({ typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(BadRequest.encode({ fieldViolations }).finish()) });
  }
  return Buffer.from(Status.encode({ code: grpcCode, message: error.message, details }).finish());
}

/**
 * The worker's context from a trailer, or undefined when it holds none of ours. Never throws:
 * a malformed trailer must not hide the status it came with.
 */
export function decodeStatusDetails(bytes: Uint8Array): StatusDetails | undefined {
  try {
    for (const any of Status.decode(bytes).details) {
      if (any.typeUrl !== ERROR_INFO_TYPE) continue;
      const info = ErrorInfo.decode(any.value);
      if (info.domain !== ERROR_DOMAIN) continue;
      const field = info.metadata.get("field");
      const jobId = info.metadata.get("job_id");
      const sessionId = info.metadata.get("session_id");
      return {
        reason: info.reason,
        ...(field !== undefined && { field }),
        ...(jobId !== undefined && { jobId }),
        ...(sessionId !== undefined && { sessionId }),
      };
    }
  } catch {
    // Not a google.rpc.Status: as if there were no trailer.
  }
  return undefined;
}
