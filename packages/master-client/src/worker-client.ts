import { MAX_FIND_MISSING_DIGESTS, uuidv7, type JobSpec as WireJobSpec, WorkerServiceClient } from "@opencode-worker/shared";
import { commandLine } from "./command-line.js";
import { fromWireDigest, fromWireMetrics, fromWireSession, required, toWireDigest, toWireSpec } from "./convert.js";
import { ConnectionError, JobFailedError } from "./errors.js";
import type { JobEvent } from "./job-event.js";
import type { HealthStatus } from "./health-check.js";
import { JobHandle } from "./job-handle.js";
import { jobEvents } from "./job-events.js";
import type { JobResult } from "./job-result.js";
import type { JobSpec } from "./job-spec.js";
import type { SessionInfo } from "./job-status.js";
import { compileClientOptions, type WorkerClientOptions } from "./options.js";
import { readFullOutput, type ResultOptions } from "./output-reader.js";
import { type RequestOptions, Transport } from "./transport.js";
import { invalid, readJobId, readNonEmptyString, readObject, readString } from "./validate.js";
import type { WorkerMetrics } from "./worker-metrics.js";
import { type BlobDigest, type BlobSource, readBlobDigest } from "./workspace/blob-digest.js";
import { readBlobChunks } from "./workspace/blob-reader.js";
import { uploadMessages } from "./workspace/blob-upload.js";
import { RemoteWorkspace } from "./workspace/remote-workspace.js";
import type { WorkspaceOptions } from "./workspace/workspace-options.js";

/**
 * The SDK picks a job's id itself, before the first attempt, so a retried Dispatch names the same job
 * instead of starting a second one; a UUIDv7, the same kind the worker would assign.
 */
const newJobId = (): string => uuidv7();

function readArray(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw invalid(field, "an array", value);
  return value;
}

/** The events of a job `stream()` dispatched; iterate it once. */
export interface JobStream extends AsyncIterable<JobEvent> {
  /** The job's id, chosen before dispatch: use it with `client.job()` to cancel or collect. */
  readonly jobId: string;
}

/**
 * A connection to one worker. `connect()` checks that a worker answers, `lazy()` connects on the
 * first call, `close()` releases the channel. Every call takes an AbortSignal and a deadline
 * (`requestTimeoutMs`); idempotent calls are retried after UNAVAILABLE.
 */
export class WorkerClient {
  readonly #transport: Transport;

  private constructor(
    transport: Transport,
    /** The worker's `host:port`. */
    readonly address: string,
  ) {
    this.#transport = transport;
  }

  /**
   * Connects and verifies: waits for the channel to be ready, then asks the worker for its
   * metrics, both within `requestTimeoutMs`. A refused connection fails at once, not at the deadline.
   * @throws ConnectionError when no worker answers at the address (in time)
   */
  static async connect(options: WorkerClientOptions = {}): Promise<WorkerClient> {
    const client = WorkerClient.lazy(options);
    const timeoutMs = client.#transport.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    try {
      await client.#transport.waitForConnection(deadline);
      await client.#transport.unary("getMetrics", {}, { requestTimeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (error) {
      client.close();
      throw new ConnectionError(
        `no worker answered at ${client.address} (requestTimeoutMs: ${timeoutMs} ms): ` +
          `${error instanceof Error ? error.message : String(error)}; check \`address\` and that the worker runs`,
        { cause: error },
      );
    }
    return client;
  }

  /** A client that connects on its first call and checks nothing now. */
  static lazy(options: WorkerClientOptions = {}): WorkerClient {
    const compiled = compileClientOptions(options);
    const grpcClient = new WorkerServiceClient(compiled.address, compiled.credentials, compiled.grpcOptions);
    return new WorkerClient(new Transport(grpcClient, compiled.address, compiled.requestTimeoutMs, compiled.retry), compiled.address);
  }

  /**
   * Starts a job and returns at once. Without `spec.jobId` the SDK picks one before the first
   * attempt, so a retried dispatch never starts a second job.
   * @throws InvalidArgumentError for a bad spec, locally (naming the field) or from the worker
   */
  async dispatch(spec: JobSpec, options: RequestOptions = {}): Promise<JobHandle> {
    return this.#dispatch(toWireSpec(spec, newJobId), options);
  }

  async #dispatch(spec: WireJobSpec, options: RequestOptions): Promise<JobHandle> {
    const response = await this.#transport.unary("dispatch", { spec }, { ...options, jobId: spec.jobId });
    return new JobHandle(this.#transport, response.jobId || spec.jobId, response.sessionId);
  }

  /**
   * Dispatches a job and waits for its result.
   * Aborting cancels the job as well, since the caller holds no handle to it. `stdout` and `stderr`
   * hold all the worker kept, unless `fullOutput` is false.
   * @throws JobFailedError when the job ended other than "finished"; it carries the whole result
   */
  async run(spec: JobSpec, options: ResultOptions = {}): Promise<JobResult> {
    const wireSpec = toWireSpec(spec, newJobId);
    // Checked before the job is dispatched, like the spec.
    const waitOptions = { ...options, fullOutput: readFullOutput(options) };
    let result: JobResult;
    try {
      result = await (await this.#dispatch(wireSpec, options)).wait(waitOptions);
    } catch (error) {
      if (options.signal?.aborted) await this.#cancelAbandoned(wireSpec.jobId);
      throw error;
    }
    if (result.state !== "finished") throw new JobFailedError(result, commandLine(wireSpec));
    return result;
  }

  /**
   * Best effort, and its failure is dropped: the abort is what the caller must see, the job may never
   * have reached the worker (NOT_FOUND), and the worker's own limits still end it if this cannot.
   */
  async #cancelAbandoned(jobId: string): Promise<void> {
    await this.#transport.unary("cancel", { jobId, reason: "the caller aborted run()" }, { jobId }).catch(() => undefined);
  }

  /**
   * Dispatches a job and streams its events in one call, when iteration starts. Resumes after a
   * dropped connection like `JobHandle.events()`; breaking out cancels the stream, not the job.
   */
  stream(spec: JobSpec, options: Pick<RequestOptions, "signal"> = {}): JobStream {
    const wireSpec = toWireSpec(spec, newJobId);
    const events = jobEvents(this.#transport, { $case: "spec", value: wireSpec }, wireSpec.jobId, {
      signal: options.signal,
    });
    return { jobId: wireSpec.jobId, [Symbol.asyncIterator]: () => events };
  }

  /**
   * A handle to a job already on this worker.
   * @throws NotFoundError when the worker does not know the job
   */
  async job(jobId: string, options: RequestOptions = {}): Promise<JobHandle> {
    const id = readJobId("jobId", jobId);
    const response = await this.#transport.unary("status", { jobId: id }, { ...options, jobId: id });
    return new JobHandle(this.#transport, id, required(response.status, "status").sessionId);
  }

  async listSessions(options: RequestOptions = {}): Promise<SessionInfo[]> {
    const response = await this.#transport.unary("listSessions", {}, options);
    return response.sessions.map(fromWireSession);
  }

  async metrics(options: RequestOptions = {}): Promise<WorkerMetrics> {
    return fromWireMetrics(await this.#transport.unary("getMetrics", {}, options));
  }

  /**
   * What the worker's standard grpc.health.v1 service says of `service` ("" for the whole worker,
   * or "opencode.worker.v1.WorkerService"): one attempt, no retries, as a health probe asks.
   */
  async health(service = "", options: RequestOptions = {}): Promise<HealthStatus> {
    return this.#transport.health(readString("service", service), options);
  }

  /**
   * A local directory to run jobs over: each `run()` sends its manifest, uploads only the contents
   * the worker lacks, runs the job in it and applies what the command changed back to `root`.
   * Cheap to create; keep it to reuse its hashes (and its remote-only entries) across runs.
   */
  workspace(root: string, options: WorkspaceOptions = {}): RemoteWorkspace {
    return new RemoteWorkspace(this, root, options);
  }

  /** Which of `digests` the worker's blob store lacks, in the order given, without duplicates. */
  async findMissingBlobs(digests: BlobDigest[], options: RequestOptions = {}): Promise<BlobDigest[]> {
    const blobs = readArray("digests", digests).map((digest, index) => toWireDigest(readBlobDigest(`digests[${index}]`, digest)));
    const missing: BlobDigest[] = [];
    for (let start = 0; start < blobs.length; start += MAX_FIND_MISSING_DIGESTS) {
      const response = await this.#transport.unary(
        "findMissingBlobs",
        { blobs: blobs.slice(start, start + MAX_FIND_MISSING_DIGESTS) },
        options,
      );
      missing.push(...response.missing.map(fromWireDigest));
    }
    return missing;
  }

  /**
   * Uploads blobs to the worker's store in one call, each read from its file while it is sent, in
   * 1 MiB chunks. `requestTimeoutMs` bounds the whole call: raise it for large uploads.
   * @throws FailedPreconditionError when a file no longer matches its digest (it changed since it was hashed)
   * @throws ResourceExhaustedError when the worker's store cannot make room
   */
  async uploadBlobs(blobs: BlobSource[], options: RequestOptions = {}): Promise<{ stored: number; alreadyPresent: number; bytes: number }> {
    const sources = readArray("blobs", blobs).map((blob, index) => {
      const { path, ...digest } = readObject(`blobs[${index}]`, blob, ["sha256", "size", "path"]);
      return { ...readBlobDigest(`blobs[${index}]`, digest), path: readNonEmptyString(`blobs[${index}].path`, path) };
    });
    const response = await this.#transport.clientStream("uploadBlobs", () => uploadMessages(sources), options);
    return {
      stored: response.stored,
      alreadyPresent: response.alreadyPresent,
      bytes: sources.reduce((sum, source) => sum + source.size, 0),
    };
  }

  /**
   * The content of a blob of the worker's store (e.g. a changed file too large to travel inline),
   * resumed from the last byte received after a dropped connection.
   * @throws NotFoundError when the store does not hold it (never uploaded or produced by this caller, or evicted)
   */
  async readBlob(digest: BlobDigest, options: Pick<RequestOptions, "signal"> = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of readBlobChunks(this.#transport, readBlobDigest("digest", digest), options.signal)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Releases the channel; calls made afterwards throw a `ConnectionError`. */
  close(): void {
    this.#transport.close();
  }
}
