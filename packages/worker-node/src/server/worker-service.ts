import type { sendUnaryData, Server, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  JobState,
  MAX_FIND_MISSING_DIGESTS,
  MAX_UPLOAD_CHUNK_BYTES,
  OutputStream,
  TerminationReason,
  type GetMetricsResponse,
  type ReadBlobRequest,
  type ReadBlobResponse,
  type UploadBlobsRequest,
  type UploadBlobsResponse,
  type JobStatus,
  type ReadArtifactRequest,
  type ReadArtifactResponse,
  type ReadOutputRequest,
  type ReadOutputResponse,
  type StreamJobRequest,
  type StreamJobResponse,
  type WorkerServiceServer,
} from "@opencode-worker/shared";
import { BlobStore, type BlobUpload } from "../blobs/blob-store.js";
import { parseDigest } from "../blobs/digest.js";
import { WorkerError, invalidArgument } from "../errors.js";
import { artifactChunks } from "../files/artifact-chunks.js";
import { mayAccess, type Caller } from "../session/caller.js";
import type { Job } from "../session/job.js";
import type { SessionManager } from "../session/session-manager.js";
import { decodedRequest, requestInteger } from "./decode-request.js";
import { toGrpcStatus } from "./grpc-status.js";
import { traceParentOf } from "./trace-parent.js";
import type { Authenticator } from "./auth/authenticate.js";
import { attachEventStream } from "./event-stream.js";
import { workerServiceDefinition } from "./service-definition.js";

/** What GetMetrics reports beyond the session manager's own figures. */
export interface WorkerIdentity {
  workerId: string;
  version: string;
  startedAt: number;
  concurrency: number;
  maxQueued: number;
  isolationMode: string;
  isolationDetails: string[];
  /** The OpenCode agent tasks run with; "" when they are refused. */
  opencodeVersion: string;
  streamKeepaliveMs: number;
  stalledReaderTimeoutMs: number;
}

/** Chunk size for ReadArtifact and ReadOutput: large enough for throughput, small enough to interleave streams. */
const CHUNK_BYTES = 64 * 1024;

/**
 * The WorkerService handlers. Each one authenticates the caller, decodes, delegates to the session
 * manager, and maps errors through the one table in grpc-status.ts; none holds logic of its own.
 */
export class WorkerService {
  constructor(
    private readonly manager: SessionManager,
    private readonly identity: WorkerIdentity,
    private readonly auth: Authenticator,
    private readonly blobs: BlobStore,
  ) {}

  addToServer(server: Server): void {
    server.addService(workerServiceDefinition, this.handlers());
  }

  private handlers(): WorkerServiceServer {
    const { manager } = this;
    const unary = this.unary.bind(this);
    return {
      dispatch: unary(async ({ spec }, caller, call) => {
        if (!spec) throw invalidArgument("spec", "is required");
        const { job, created } = await manager.dispatch(spec, caller, traceParentOf(call.metadata));
        return { jobId: job.jobId, sessionId: job.sessionId, state: job.state, created };
      }),
      status: unary(async ({ jobId }, caller) => ({ status: jobStatus(manager.get(jobId, caller)) })),
      collect: unary(async ({ jobId, wait }, caller, call) => {
        const job = manager.get(jobId, caller);
        if (!job.result && !wait) {
          throw new WorkerError(
            "FAILED_PRECONDITION",
            `job ${jobId} is still ${JobState[job.state]}; call Collect with wait=true or after it ends`,
            { jobId },
          );
        }
        const result = await untilCancelled(job.done, call);
        return { result };
      }),
      cancel: unary(async ({ jobId, reason }, caller) => {
        const job = await manager.cancel(jobId, reason, caller);
        return { state: job.state, cancelled: job.result?.reason === TerminationReason.TERMINATION_REASON_CANCELLED };
      }),
      streamJob: (call) => void this.streamJob(call),
      listSessions: unary(async (_request, caller) => ({
        sessions: visibleSessions(manager, caller).map((job) => ({
          sessionId: job.sessionId,
          jobId: job.jobId,
          state: job.state,
          phase: job.phase,
          ageMs: job.ageMs(),
          usage: { ...job.usage },
        })),
      })),
      getMetrics: unary(async () => this.metrics()),
      readArtifact: (call) => void this.readArtifact(call),
      readOutput: (call) => void this.readOutput(call),
      findMissingBlobs: unary(async ({ blobs }, caller) => {
        if (blobs.length > MAX_FIND_MISSING_DIGESTS) {
          throw invalidArgument("blobs", `${blobs.length} digests; ask about at most ${MAX_FIND_MISSING_DIGESTS} per call`);
        }
        const digests = blobs.map((wire, index) => parseDigest(`blobs[${index}]`, wire));
        const missing = this.blobs.missing(BlobStore.scopeOf(caller), digests);
        return { missing: missing.map(({ sha256, sizeBytes }) => ({ sha256, sizeBytes: String(sizeBytes) })) };
      }),
      uploadBlobs: (call, callback) => void this.uploadBlobs(call, callback),
      readBlob: (call) => void this.readBlob(call),
    };
  }

  private async streamJob(call: ServerWritableStream<StreamJobRequest, StreamJobResponse>): Promise<void> {
    try {
      const caller = this.auth.caller(call);
      const { target, afterSeq: sentAfterSeq } = decodedRequest(call.request);
      const afterSeq = requestInteger("after_seq", sentAfterSeq);
      let job: Job;
      if (target?.$case === "spec") job = (await this.manager.dispatch(target.value, caller, traceParentOf(call.metadata))).job;
      else if (target?.$case === "jobId") job = this.manager.get(target.value, caller);
      else throw invalidArgument("target", "set either spec (dispatch and stream) or job_id (attach)");
      if (call.cancelled) return;
      attachEventStream(call, job, target.$case === "jobId" ? afterSeq : 0, {
        keepaliveMs: this.identity.streamKeepaliveMs,
        stalledReaderTimeoutMs: this.identity.stalledReaderTimeoutMs,
      });
    } catch (error) {
      call.emit("error", toGrpcStatus(error));
    }
  }

  private async readArtifact(call: ServerWritableStream<ReadArtifactRequest, ReadArtifactResponse>): Promise<void> {
    try {
      const caller = this.auth.caller(call);
      const request = decodedRequest(call.request);
      const { jobId, path } = request;
      const offset = requestInteger("offset", request.offset);
      const length = requestInteger("length", request.length);
      const job = this.manager.get(jobId, caller);
      if (!job.result) throw new WorkerError("FAILED_PRECONDITION", `job ${jobId} has not ended; artifacts exist once it has`, { jobId });
      const artifact = job.artifacts.get(path);
      if (!artifact) {
        const skipped = job.result.skippedArtifacts.find((entry) => entry.path === path);
        throw new WorkerError(
          "NOT_FOUND",
          skipped
            ? `artifact ${JSON.stringify(path)} was not collected: ${skipped.reason}`
            : `job ${jobId} has no artifact ${JSON.stringify(path)}`,
          { jobId, field: "path" },
        );
      }
      const totalSizeBytes = artifact.sizeBytes;
      if (offset > totalSizeBytes)
        throw invalidArgument("offset", `${offset} is past the end of ${JSON.stringify(path)} (${totalSizeBytes} bytes)`);
      const end = length > 0 ? Math.min(totalSizeBytes, offset + length) : totalSizeBytes;
      if (end === offset) {
        call.write({ offset, data: Buffer.alloc(0), totalSizeBytes });
        return void call.end();
      }
      let position = offset;
      // Leaving the loop (a cancelled call) closes a stored artifact's file.
      for await (const chunk of artifactChunks(artifact, offset, end, CHUNK_BYTES)) {
        if (call.cancelled) return;
        const ok = call.write({ offset: position, data: chunk, totalSizeBytes });
        position += chunk.length;
        if (!ok) await writable(call);
      }
      call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toGrpcStatus(error));
    }
  }

  private async readOutput(call: ServerWritableStream<ReadOutputRequest, ReadOutputResponse>): Promise<void> {
    try {
      const caller = this.auth.caller(call);
      const request = decodedRequest(call.request);
      const offset = requestInteger("offset", request.offset);
      const job = this.manager.get(request.jobId, caller);
      const result = job.result;
      if (!result)
        throw new WorkerError("FAILED_PRECONDITION", `job ${job.jobId} has not ended; follow its output with StreamJob`, {
          jobId: job.jobId,
        });
      const stdout = request.stream === OutputStream.OUTPUT_STREAM_STDOUT;
      if (!stdout && request.stream !== OutputStream.OUTPUT_STREAM_STDERR) {
        throw invalidArgument(
          "stream",
          `expected OUTPUT_STREAM_STDOUT or OUTPUT_STREAM_STDERR, got ${OutputStream[request.stream] ?? request.stream}`,
        );
      }
      const retained = job.log.retainedOutput(request.stream);
      const totalBytes = stdout ? result.stdoutTotalBytes : result.stderrTotalBytes;
      if (offset > retained.length) {
        throw invalidArgument(
          "offset",
          `${offset} is past the end of the retained ${stdout ? "stdout" : "stderr"} (${retained.length} bytes)`,
        );
      }
      // At least one message, so a read at the end still learns the sizes.
      let position = offset;
      do {
        const data = retained.subarray(position, position + CHUNK_BYTES);
        const ok = call.write({ offset: position, data, retainedBytes: retained.length, totalBytes });
        position += data.length;
        if (!ok) await writable(call);
      } while (position < retained.length && !call.cancelled);
      call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toGrpcStatus(error));
    }
  }

  /**
   * Client streaming: each chunk is hashed and handed to the disk as it is read, and the next is read
   * while at most 8 MiB are still being written (TempBlob), so a fast client waits on the disk
   * instead of filling memory. A refused chunk or a broken call aborts the upload:
   * nothing of the call is stored. A cancelled call may look like an ended one to the loop; then its
   * blob in progress is incomplete, so commit() refuses and aborts.
   */
  private async uploadBlobs(
    call: ServerReadableStream<UploadBlobsRequest, UploadBlobsResponse>,
    callback: sendUnaryData<UploadBlobsResponse>,
  ): Promise<void> {
    let upload: BlobUpload;
    try {
      upload = this.blobs.beginUpload(BlobStore.scopeOf(this.auth.caller(call)));
    } catch (error) {
      return callback(toGrpcStatus(error));
    }
    try {
      // Async iteration reads the next message only once the loop asks: the backpressure above.
      for await (const request of call as AsyncIterable<UploadBlobsRequest>) {
        const { digest, offset, data } = decodedRequest(request);
        if (data.length > MAX_UPLOAD_CHUNK_BYTES) {
          throw invalidArgument("data", `${data.length} bytes in one chunk; send at most ${MAX_UPLOAD_CHUNK_BYTES}`);
        }
        await upload.chunk(parseDigest("digest", digest), requestInteger("offset", offset), data);
      }
      // A cancelled call's stream may just end: what it sent is not the whole upload.
      if (call.cancelled) throw new WorkerError("DEADLINE_EXCEEDED", "the call was cancelled before it completed");
      const { stored, alreadyPresent } = await upload.commit();
      return callback(null, { stored, alreadyPresent });
    } catch (error) {
      await upload.abort();
      return callback(toGrpcStatus(error));
    }
  }

  private async readBlob(call: ServerWritableStream<ReadBlobRequest, ReadBlobResponse>): Promise<void> {
    try {
      const caller = this.auth.caller(call);
      const request = decodedRequest(call.request);
      const digest = parseDigest("digest", request.digest);
      const offset = requestInteger("offset", request.offset);
      let position = offset;
      // Leaving the loop (a cancelled call) closes the blob's file.
      for await (const data of this.blobs.read(BlobStore.scopeOf(caller), digest, offset)) {
        if (call.cancelled) return;
        const ok = call.write({ offset: position, data });
        position += data.length;
        if (!ok) await writable(call);
      }
      // At least one message, so a read at the end still gets an answer.
      if (position === offset) call.write({ offset, data: Buffer.alloc(0) });
      call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toGrpcStatus(error));
    }
  }

  private metrics(): GetMetricsResponse {
    const memory = process.memoryUsage();
    const stats = this.manager.stats();
    const blobs = this.blobs.stats();
    const id = this.identity;
    return {
      workerId: id.workerId,
      version: id.version,
      uptimeMs: Math.round(performance.now() - id.startedAt),
      concurrency: id.concurrency,
      maxQueued: id.maxQueued,
      active: stats.active,
      queued: stats.queued,
      jobsTotal: stats.jobsTotal,
      outcomes: stats.outcomes,
      jobLatency: this.manager.jobLatency.summary(),
      queueLatency: this.manager.queueLatency.summary(),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      isolationMode: id.isolationMode,
      isolationDetails: id.isolationDetails,
      opencodeVersion: id.opencodeVersion,
      modelRequestsTotal: stats.modelRequestsTotal,
      modelRequestsRefusedTotal: stats.modelRequestsRefusedTotal,
      modelTokensTotal: stats.modelTokensTotal,
      draining: this.manager.isDraining,
      retainedResults: stats.retainedResults,
      retainedResultBytes: stats.retainedResultBytes,
      blobStoreBlobs: blobs.blobs,
      blobStoreBytes: blobs.bytes,
      blobsUploadedTotal: blobs.uploadedBlobs,
      blobBytesUploadedTotal: blobs.uploadedBytes,
    };
  }

  /**
   * Wraps an async unary handler: the caller authenticated first, the result to the callback, any
   * error (a refused caller, bad bytes) through the status table.
   */
  private unary<Req, Res>(handler: (request: Req, caller: Caller, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      (async () => {
        const caller = this.auth.caller(call);
        return handler(decodedRequest(call.request), caller, call);
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcStatus(error)),
      );
    };
  }
}

/** ListSessions shows a caller its own jobs only (an admin all of them). */
function visibleSessions(manager: SessionManager, caller: Caller): Job[] {
  return manager.sessions().filter((job) => mayAccess(caller, job.owner));
}

/** Resolves when a server stream whose buffer is full may be written again, or has ended. */
function writable(call: ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.once("drain", done);
    call.once("cancelled", done);
  });
}

/** Waits for `promise` unless the call is cancelled first (deadline, client gone): then never settles the call. */
function untilCancelled<T>(promise: Promise<T>, call: ServerUnaryCall<unknown, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    call.once("cancelled", () => reject(new WorkerError("DEADLINE_EXCEEDED", "the call ended before the job did")));
    promise.then(resolve, reject);
  });
}

function jobStatus(job: Job): JobStatus {
  return {
    jobId: job.jobId,
    sessionId: job.sessionId,
    state: job.state,
    phase: job.phase,
    reason: job.result?.reason ?? TerminationReason.TERMINATION_REASON_UNSPECIFIED,
    createdUnixMs: job.createdUnixMs,
    startedUnixMs: job.startedUnixMs ?? 0,
    endedUnixMs: job.endedUnixMs ?? 0,
    queueMs: job.startedAt === undefined ? job.ageMs() : job.timings.queueMs,
    elapsedMs: job.elapsedMs(),
    usage: { ...job.usage },
    lastSeq: job.log.lastSeq,
  };
}
