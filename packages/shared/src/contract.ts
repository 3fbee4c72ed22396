/** Facts of the contract that the proto cannot express and both sides must agree on. */

/** A job_id chosen by a caller; the worker assigns a UUIDv7 when it is empty. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The fully qualified service name, as health checks and reflection know it. */
export const WORKER_SERVICE_NAME = "opencode.worker.v1.WorkerService";

/** FindMissingBlobs's cap on digests per request (the proto's): about 10 MB of request. */
export const MAX_FIND_MISSING_DIGESTS = 100_000;

/** UploadBlobs's cap on one message's data (the proto's). */
export const MAX_UPLOAD_CHUNK_BYTES = 1024 * 1024;
