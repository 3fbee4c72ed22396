import { decodeUploadBlobsRequest, encodeStreamJobResponse, WorkerServiceService } from "@opencode-worker/shared";
import { withSafeDeserializers } from "./decode-request.js";

/**
 * WorkerService as generated, with StreamJob's responses encoded and UploadBlobs's chunks decoded by
 * hand-written hot paths, and request deserializers that never throw (decode-request.ts).
 */
export const workerServiceDefinition = withSafeDeserializers({
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseSerialize: encodeStreamJobResponse },
  uploadBlobs: { ...WorkerServiceService.uploadBlobs, requestDeserialize: decodeUploadBlobsRequest },
});
