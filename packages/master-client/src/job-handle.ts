import { Readable } from "node:stream";
import { type ReadArtifactOptions, readArtifactChunks } from "./artifact-reader.js";
import { fromWireCancel, fromWireStatus, required } from "./convert.js";
import { FailedPreconditionError, JobNotFinishedError } from "./errors.js";
import type { JobEvent } from "./job-event.js";
import { type JobEventsOptions, jobEvents } from "./job-events.js";
import type { JobResult } from "./job-result.js";
import type { CancelOutcome, JobStatus } from "./job-status.js";
import { type ReadOutputOptions, type ResultOptions, readFullOutput, readOutputChunks, resultWithOutput } from "./output-reader.js";
import type { RequestOptions, Transport } from "./transport.js";
import { readNonEmptyString, readNonNegativeInteger, readOneOf, readString } from "./validate.js";
import { waitForResult } from "./wait-for-result.js";

/** Receives output as it arrives. */
export type OutputListener = (chunk: Buffer) => void;

export interface OutputListenerOptions {
  /**
   * Called once if the subscription fails for good (the worker is gone past the retry policy, or
   * the listener threw); the subscription is then over. Without it the failure becomes a process
   * warning, since `wait()` reports a lost worker anyway.
   */
  onError?: (error: unknown) => void;
}

/**
 * A job on a worker: follow its events and output, wait for its result, cancel it, read its
 * artifacts. Get one from `WorkerClient.dispatch()` or `WorkerClient.job()`.
 */
export class JobHandle {
  readonly #transport: Transport;

  /** @internal Handles come from `WorkerClient`, which knows the job exists. */
  constructor(
    transport: Transport,
    readonly jobId: string,
    readonly sessionId: string,
  ) {
    this.#transport = transport;
  }

  /**
   * The job's events from the start (or after `afterSeq`), ending with its "completed" event.
   * Survives a dropped connection by re-attaching after the last seq seen; breaking out of
   * `for await` cancels the call.
   */
  events(options: JobEventsOptions = {}): AsyncIterable<JobEvent> {
    const afterSeq = options.afterSeq === undefined ? 0 : readNonNegativeInteger("afterSeq", options.afterSeq);
    return jobEvents(this.#transport, { $case: "jobId", value: this.jobId }, this.jobId, {
      afterSeq,
      signal: options.signal,
    });
  }

  /**
   * Calls `listener` with each stdout chunk, from the job's start, as it arrives; returns an
   * unsubscribe function. Each subscription is its own attach stream, independent of `wait()`
   * (whose result holds the whole retained output anyway).
   */
  onStdout(listener: OutputListener, options: OutputListenerOptions = {}): () => void {
    return this.#onOutput("stdout", listener, options);
  }

  /** Like `onStdout()`, for stderr. */
  onStderr(listener: OutputListener, options: OutputListenerOptions = {}): () => void {
    return this.#onOutput("stderr", listener, options);
  }

  #onOutput(stream: "stdout" | "stderr", listener: OutputListener, options: OutputListenerOptions): () => void {
    const subscription = new AbortController();
    const pump = async (): Promise<void> => {
      for await (const event of this.events({ signal: subscription.signal })) {
        if (event.type === "output" && event.stream === stream) listener(event.data);
      }
    };
    pump().catch((error: unknown) => {
      if (subscription.signal.aborted) return; // unsubscribed: the AbortError is the expected ending
      if (options.onError) return options.onError(error);
      // A string, not the error: emitWarning checks instanceof Error, which fails across realms.
      const reason = error instanceof Error ? error.message : String(error);
      process.emitWarning(`job ${this.jobId}: the ${stream} subscription ended: ${reason}`, {
        code: "OPENCODE_WORKER_OUTPUT",
      });
    });
    return () => subscription.abort();
  }

  /**
   * The job's result once it ends, however long it runs: `requestTimeoutMs` bounds each Collect
   * round, and a round that expires while the job runs is asked again. Resolves for any final
   * state; `WorkerClient.run()` is the variant that rejects unless the job finished.
   * Aborting stops waiting; the job keeps running (use `cancel()` to stop it).
   * `stdout` and `stderr` hold all the worker kept, unless `fullOutput` is false.
   */
  wait(options: ResultOptions = {}): Promise<JobResult> {
    return waitForResult(this.#transport, this.jobId, options);
  }

  /** Stops the job and its whole process tree; harmless when it already ended. */
  async cancel(reason = "", options: RequestOptions = {}): Promise<CancelOutcome> {
    const response = await this.#transport.unary(
      "cancel",
      { jobId: this.jobId, reason: readString("reason", reason) },
      { ...options, jobId: this.jobId },
    );
    return fromWireCancel(response);
  }

  async status(options: RequestOptions = {}): Promise<JobStatus> {
    const response = await this.#transport.unary("status", { jobId: this.jobId }, { ...options, jobId: this.jobId });
    return fromWireStatus(required(response.status, "status"));
  }

  /**
   * The result of a job that has ended, without waiting; `stdout` and `stderr` hold all the worker
   * kept, unless `fullOutput` is false.
   * @throws JobNotFinishedError while it is still queued or running
   */
  async collect(options: ResultOptions = {}): Promise<JobResult> {
    const fullOutput = readFullOutput(options);
    let response;
    try {
      response = await this.#transport.unary("collect", { jobId: this.jobId, wait: false }, { ...options, jobId: this.jobId });
    } catch (error) {
      // For Collect without wait, FAILED_PRECONDITION has exactly one meaning.
      if (error instanceof FailedPreconditionError) {
        throw new JobNotFinishedError(`job ${this.jobId} has not finished; use wait() to block until it does`, {
          grpcCode: error.grpcCode,
          details: error.details,
          jobId: this.jobId,
          cause: error,
        });
      }
      throw error;
    }
    return resultWithOutput(this.#transport, required(response.result, "result"), fullOutput, options.signal);
  }

  /**
   * The bytes an ended job wrote to stdout or stderr, as far as the worker kept them
   * (`stdoutRetainedBytes`), as a stream of Buffers from `offset`, resumed after a dropped
   * connection. `wait()` already returns them all; this reads them again, or the rest of a result
   * taken with `fullOutput: false` or from a "completed" event (from `offset: result.stdout.length`).
   */
  readOutput(stream: "stdout" | "stderr", options: ReadOutputOptions = {}): Readable {
    const chunks = readOutputChunks(
      this.#transport,
      this.jobId,
      readOneOf("stream", stream, ["stdout", "stderr"]),
      options.offset === undefined ? 0 : readNonNegativeInteger("offset", options.offset),
      options.signal,
    );
    return Readable.from(chunks, { objectMode: false });
  }

  /**
   * A collected artifact's bytes as a stream of Buffers (pipe it, or `for await` it), resumed
   * from the last byte received after a dropped connection. Destroying the stream cancels the call.
   */
  readArtifact(path: string, options: ReadArtifactOptions = {}): Readable {
    return Readable.from(this.#artifactChunks(path, options), { objectMode: false });
  }

  /** A whole collected artifact in memory; for large ones prefer `readArtifact()`. */
  async readArtifactBuffer(path: string, options: Pick<ReadArtifactOptions, "signal"> = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.#artifactChunks(path, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  #artifactChunks(path: string, options: ReadArtifactOptions): AsyncGenerator<Buffer, void, undefined> {
    return readArtifactChunks(
      this.#transport,
      this.jobId,
      readNonEmptyString("path", path),
      options.offset === undefined ? 0 : readNonNegativeInteger("offset", options.offset),
      options.length === undefined ? 0 : readNonNegativeInteger("length", options.length),
      options.signal,
    );
  }
}
