/**
 * The opencode-worker wire contract, shared by the worker node and the master SDK.
 *
 * Most users want `@opencode-worker/master-client` instead: its types are friendlier and stable.
 * This package holds the generated protobuf messages and grpc-js service definitions
 * (from `proto/`, by `pnpm generate`; never edited by hand), the descriptor set that server
 * reflection serves, and the few helpers both sides of the wire agree on.
 *
 * @example
 * import { WorkerServiceClient, JobState } from "@opencode-worker/shared";
 * const client = new WorkerServiceClient("127.0.0.1:50051", credentials.createInsecure());
 */
export * from "./generated/opencode/worker/v1/agent.pb.js";
export * from "./generated/opencode/worker/v1/job.pb.js";
export * from "./generated/opencode/worker/v1/worker_service.pb.js";
export * from "./generated/opencode/worker/v1/workspace.pb.js";
export { contractFileDescriptors } from "./descriptor-files.js";
export { decodeStreamJobResponse, encodeStreamJobResponse } from "./stream-job-codec.js";
export { decodeUploadBlobsRequest, encodeUploadBlobsRequest } from "./upload-blobs-codec.js";
export { formatBytes, parseByteSize } from "./units.js";
export { JOB_ID_PATTERN, MAX_FIND_MISSING_DIGESTS, MAX_UPLOAD_CHUNK_BYTES, WORKER_SERVICE_NAME } from "./contract.js";
export { uuidv7 } from "./uuidv7.js";
export { shellStatusOf, signalName } from "./signals.js";
export { WorkerError } from "./worker-error.js";
export type { WorkerErrorCode, WorkerErrorContext } from "./worker-error.js";
export { decodeStatusDetails, encodeStatusDetails, ERROR_DOMAIN, STATUS_DETAILS_KEY } from "./status-details.js";
export type { StatusDetails } from "./status-details.js";
export { compileGlob, GlobSyntaxError } from "./glob-match.js";
export type { GlobMatcher } from "./glob-match.js";
