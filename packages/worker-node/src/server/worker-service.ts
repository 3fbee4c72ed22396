import { createReadStream } from "node:fs";
import type { sendUnaryData, Server, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  JobState,
  TerminationReason,
  type GetMetricsResponse,
  type JobStatus,
  type ReadArtifactRequest,
  type ReadArtifactResponse,
  type StreamJobRequest,
  type StreamJobResponse,
  type WorkerServiceServer,
} from "@opencode-worker/shared";
import { WorkerError, invalidArgument, toGrpcStatus } from "../errors.js";
import type { Job } from "../session/job.js";
import type { SessionManager } from "../session/session-manager.js";
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
  streamKeepaliveMs: number;
}

/** Chunk size for ReadArtifact: large enough for throughput, small enough to interleave streams. */
const ARTIFACT_CHUNK_BYTES = 64 * 1024;

/**
 * The WorkerService handlers. Each one decodes, delegates to the session manager, and maps errors
 * through the one table in errors.ts; none holds logic of its own.
 */
export class WorkerService {
  constructor(
    private readonly manager: SessionManager,
    private readonly identity: WorkerIdentity,
  ) {}

  addToServer(server: Server): void {
    server.addService(workerServiceDefinition, this.handlers());
  }

  private handlers(): WorkerServiceServer {
    const { manager } = this;
    return {
      dispatch: unary(async ({ spec }) => {
        if (!spec) throw invalidArgument("spec", "is required");
        const { job, created } = await manager.dispatch(spec);
        return { jobId: job.jobId, sessionId: job.sessionId, state: job.state, created };
      }),
      status: unary(async ({ jobId }) => ({ status: jobStatus(manager.get(jobId)) })),
      collect: unary(async ({ jobId, wait }, call) => {
        const job = manager.get(jobId);
        if (!job.result && !wait) {
          throw new WorkerError("FAILED_PRECONDITION", `job ${jobId} is still ${JobState[job.state]}; call Collect with wait=true or after it ends`, { jobId });
        }
        const result = await untilCancelled(job.done, call);
        return { result };
      }),
      cancel: unary(async ({ jobId, reason }) => {
        const job = await manager.cancel(jobId, reason);
        return { state: job.state, cancelled: job.result?.reason === TerminationReason.TERMINATION_REASON_CANCELLED };
      }),
      streamJob: (call) => void this.streamJob(call),
      listSessions: unary(async () => ({
        sessions: manager.sessions().map((job) => ({
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
    };
  }

  private async streamJob(call: ServerWritableStream<StreamJobRequest, StreamJobResponse>): Promise<void> {
    try {
      const { target, afterSeq } = call.request;
      let job: Job;
      if (target?.$case === "spec") job = (await this.manager.dispatch(target.value)).job;
      else if (target?.$case === "jobId") job = this.manager.get(target.value);
      else throw invalidArgument("target", "set either spec (dispatch and stream) or job_id (attach)");
      if (call.cancelled) return;
      attachEventStream(call, job, target.$case === "jobId" ? afterSeq : 0, this.identity.streamKeepaliveMs);
    } catch (error) {
      call.emit("error", toGrpcStatus(error));
    }
  }

  private async readArtifact(call: ServerWritableStream<ReadArtifactRequest, ReadArtifactResponse>): Promise<void> {
    try {
      const { jobId, path, offset, length } = call.request;
      const job = this.manager.get(jobId);
      if (!job.result) throw new WorkerError("FAILED_PRECONDITION", `job ${jobId} has not ended; artifacts exist once it has`, { jobId });
      const file = job.artifactFiles.get(path);
      if (!file) {
        const skipped = job.result.skippedArtifacts.find((entry) => entry.path === path);
        throw new WorkerError("NOT_FOUND", skipped ? `artifact ${JSON.stringify(path)} was not collected: ${skipped.reason}` : `job ${jobId} has no artifact ${JSON.stringify(path)}`, { jobId, field: "path" });
      }
      if (offset > file.sizeBytes) throw invalidArgument("offset", `${offset} is past the end of ${JSON.stringify(path)} (${file.sizeBytes} bytes)`);
      const end = length > 0 ? Math.min(file.sizeBytes, offset + length) : file.sizeBytes;
      if (end === offset) {
        call.write({ offset, data: Buffer.alloc(0), totalSizeBytes: file.sizeBytes });
        return void call.end();
      }
      const stream = createReadStream(file.storedPath, { start: offset, end: end - 1, highWaterMark: ARTIFACT_CHUNK_BYTES });
      call.on("cancelled", () => stream.destroy());
      let position = offset;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const ok = call.write({ offset: position, data: chunk, totalSizeBytes: file.sizeBytes });
        position += chunk.length;
        if (!ok) await new Promise((resolve) => call.once("drain", resolve));
      }
      call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toGrpcStatus(error));
    }
  }

  private metrics(): GetMetricsResponse {
    const memory = process.memoryUsage();
    const stats = this.manager.stats();
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
      draining: this.manager.isDraining,
      retainedResults: stats.retainedResults,
      retainedResultBytes: stats.retainedResultBytes,
    };
  }
}

/** Wraps an async unary handler: result to the callback, any error through the status table. */
function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcStatus(error)),
    );
  };
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
    elapsedMs: job.startedAt === undefined ? 0 : Math.round((job.endedAt ?? performance.now()) - job.startedAt),
    usage: { ...job.usage },
    lastSeq: job.log.lastSeq,
  };
}
