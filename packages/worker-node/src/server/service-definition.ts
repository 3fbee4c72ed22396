import { encodeStreamJobResponse, WorkerServiceService } from "@opencode-worker/shared";

/** WorkerService as generated, with StreamJob's responses encoded by the hand-written hot path. */
export const workerServiceDefinition = {
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseSerialize: encodeStreamJobResponse },
};
