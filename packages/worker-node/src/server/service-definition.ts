import { encodeStreamJobResponse, WorkerServiceService } from "@opencode-worker/shared";
import { withSafeDeserializers } from "./decode-request.js";

/**
 * WorkerService as generated, with StreamJob's responses encoded by the hand-written hot path and
 * request deserializers that never throw (decode-request.ts).
 */
export const workerServiceDefinition = withSafeDeserializers({
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseSerialize: encodeStreamJobResponse },
});
