/**
 * The call layer under the SDK: every RPC goes through here to get its deadline, its AbortSignal,
 * its retries and the SDK's error for a failed status. Nothing above it touches grpc-js calls.
 */
import { once } from "node:events";
import { type Client, type ClientWritableStream, connectivityState, Metadata, type ServiceError } from "@grpc/grpc-js";
import { context, propagation, type TextMapSetter } from "@opentelemetry/api";
import {
  decodeStatusDetails,
  decodeStreamJobResponse,
  encodeUploadBlobsRequest,
  STATUS_DETAILS_KEY,
  type StatusDetails,
  WorkerServiceService,
} from "@opencode-worker/shared";
import { abortError, ConnectionError, errorFromStatus, InternalError, UnavailableError, type WorkerClientError } from "./errors.js";
import { HEALTH_CHECK, type HealthStatus } from "./health-check.js";
import { type RetryPolicy, type Rpc, withRetry, withStreamRetry } from "./retry.js";
import { readPositiveInteger } from "./validate.js";

type Definitions = typeof WorkerServiceService;
type RequestOf<K extends Rpc> = Parameters<Definitions[K]["requestSerialize"]>[0];
type ResponseOf<K extends Rpc> = ReturnType<Definitions[K]["responseDeserialize"]>;
type ClientStreamRpc = { [K in Rpc]: Definitions[K]["requestStream"] extends true ? K : never }[Rpc];
type StreamRpc = { [K in Rpc]: Definitions[K]["responseStream"] extends true ? K : never }[Rpc];
type UnaryRpc = Exclude<Rpc, ClientStreamRpc | StreamRpc>;

interface MethodDefinition<Request, Response> {
  path: string;
  requestSerialize(value: Request): Buffer;
  responseDeserialize(value: Buffer): Response;
}

/** The generated definitions, with StreamJob's responses and UploadBlobs's chunks coded by the hot paths that copy their payload once. */
const DEFINITIONS = {
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseDeserialize: decodeStreamJobResponse },
  uploadBlobs: { ...WorkerServiceService.uploadBlobs, requestSerialize: encodeUploadBlobsRequest },
};

function definition<K extends Rpc>(rpc: K): MethodDefinition<RequestOf<K>, ResponseOf<K>> {
  // TypeScript cannot relate an indexed definition to its own request type for a generic key.
  return DEFINITIONS[rpc] as unknown as MethodDefinition<RequestOf<K>, ResponseOf<K>>;
}

/** Per-call settings every SDK method accepts. */
export interface RequestOptions {
  /** Cancels the call; it then rejects with an `AbortError` whose `cause` is the signal's reason. */
  signal?: AbortSignal;
  /**
   * The deadline of this call, in ms, retries included. Bounds one RPC, never the job: a job's
   * lifetime is `limits.timeoutMs`, and `wait()` asks again until the job ends.
   * @default the client's `requestTimeoutMs`
   */
  requestTimeoutMs?: number;
}

interface CallContext {
  signal?: AbortSignal;
  /** Named in errors, so a failure says which job it was about. */
  jobId?: string;
}

/** A grpc-js status error, as opposed to anything else a call can throw. */
function isStatusError(error: unknown): error is ServiceError {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "number";
}

/** The worker's context (field, reason, job, session) from the status's `grpc-status-details-bin` trailer. */
function trailerDetails(error: ServiceError): StatusDetails | undefined {
  // grpc-js sets `metadata` on every status error, but a hand-made one in a test may lack it.
  const [value] = error.metadata?.get(STATUS_DETAILS_KEY) ?? [];
  return value instanceof Buffer ? decodeStatusDetails(value) : undefined;
}

const METADATA_SETTER: TextMapSetter<Metadata> = { set: (metadata, key, value) => metadata.set(key, value) };

/**
 * A call's metadata: the caller's trace context (W3C `traceparent`, `tracestate`) when the application
 * registered an OpenTelemetry propagator, so the worker's job span joins the caller's trace. Without
 * one, @opentelemetry/api's propagator is a no-op and the call carries nothing.
 */
function callMetadata(): Metadata {
  const metadata = new Metadata();
  propagation.inject(context.active(), metadata, METADATA_SETTER);
  return metadata;
}

export class Transport {
  readonly #client: Client;
  readonly #address: string;
  #closed = false;

  constructor(
    client: Client,
    address: string,
    readonly requestTimeoutMs: number,
    readonly retryPolicy: RetryPolicy,
  ) {
    this.#client = client;
    this.#address = address;
  }

  /** A unary call bounded by `requestTimeoutMs` (the whole call, retries included), retried per the policy. */
  unary<K extends UnaryRpc>(rpc: K, request: RequestOf<K>, options: RequestOptions & CallContext = {}): Promise<ResponseOf<K>> {
    const requestTimeoutMs = this.#requestTimeoutOf(options);
    const deadline = Date.now() + requestTimeoutMs;
    return withRetry(rpc, this.retryPolicy, { signal: options.signal, deadline }, () =>
      this.#unaryAttempt(rpc, definition(rpc), request, deadline, requestTimeoutMs, options),
    );
  }

  /**
   * A client-streaming call bounded by `requestTimeoutMs` (the whole call, retries included), retried
   * per the policy: `requests` makes each attempt's messages afresh. Each write waits for the channel
   * to drain, so a source is read only as fast as the worker takes it; a failing source cancels the call.
   */
  clientStream<K extends ClientStreamRpc>(
    rpc: K,
    requests: () => AsyncIterable<RequestOf<K>>,
    options: RequestOptions & CallContext = {},
  ): Promise<ResponseOf<K>> {
    const requestTimeoutMs = this.#requestTimeoutOf(options);
    const deadline = Date.now() + requestTimeoutMs;
    return withRetry(rpc, this.retryPolicy, { signal: options.signal, deadline }, () =>
      this.#clientStreamAttempt(rpc, requests(), deadline, requestTimeoutMs, options),
    );
  }

  async #clientStreamAttempt<K extends ClientStreamRpc>(
    rpc: K,
    messages: AsyncIterable<RequestOf<K>>,
    deadline: number,
    requestTimeoutMs: number,
    { signal, jobId }: CallContext,
  ): Promise<ResponseOf<K>> {
    if (signal?.aborted) throw abortError(signal, jobId);
    const method = definition(rpc);
    let ended = false;
    let call: ClientWritableStream<RequestOf<K>> | undefined;
    const response = new Promise<ResponseOf<K>>((resolve, reject) => {
      call = this.#openClient().makeClientStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        callMetadata(),
        { deadline: new Date(deadline) },
        (error, value) => {
          ended = true;
          if (signal?.aborted) reject(abortError(signal, jobId));
          else if (error) reject(errorFromStatus(error, { rpc, jobId, requestTimeoutMs }, trailerDetails(error)));
          else if (value === undefined) reject(new InternalError(`${rpc}: the worker sent no response`, { jobId }));
          else resolve(value);
        },
      );
    });
    const writer = call!;
    // The call may end (refused, aborted) while writes wait: that ends the wait, and its status is the answer.
    const settled = response.then(
      () => undefined,
      () => undefined,
    );
    const cancel = (): void => writer.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    void settled.then(() => signal?.removeEventListener("abort", cancel));
    try {
      for await (const message of messages) {
        if (ended) break;
        if (!writer.write(message)) await Promise.race([once(writer, "drain"), settled]);
      }
      writer.end();
    } catch (error) {
      writer.cancel();
      await settled;
      throw error;
    }
    return response;
  }

  /** grpc.health.v1's Check for `service` ("" is the whole server), one attempt within `requestTimeoutMs`. */
  health(service: string, options: RequestOptions = {}): Promise<HealthStatus> {
    const requestTimeoutMs = this.#requestTimeoutOf(options);
    return this.#unaryAttempt("health", HEALTH_CHECK, service, Date.now() + requestTimeoutMs, requestTimeoutMs, options);
  }

  #requestTimeoutOf(options: RequestOptions): number {
    return options.requestTimeoutMs === undefined
      ? this.requestTimeoutMs
      : readPositiveInteger("requestTimeoutMs", options.requestTimeoutMs);
  }

  #unaryAttempt<Request, Response>(
    rpc: string,
    method: MethodDefinition<Request, Response>,
    request: Request,
    deadline: number,
    requestTimeoutMs: number,
    { signal, jobId }: CallContext,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal, jobId));
      const call = this.#openClient().makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        callMetadata(),
        { deadline: new Date(deadline) },
        (error, response) => {
          signal?.removeEventListener("abort", cancel);
          if (signal?.aborted) reject(abortError(signal, jobId));
          else if (error) reject(errorFromStatus(error, { rpc, jobId, requestTimeoutMs }, trailerDetails(error)));
          else if (response === undefined) reject(new InternalError(`${rpc}: the worker sent no response`, { jobId }));
          else resolve(response);
        },
      );
      const cancel = (): void => call.cancel();
      signal?.addEventListener("abort", cancel, { once: true });
    });
  }

  /**
   * A server stream with no deadline (it lasts as long as the job), reopened after retryable
   * failures: `request` builds each attempt from the caller's progress (after_seq, offset), or
   * returns undefined when nothing is left to ask for. Leaving the loop early cancels the call,
   * so the worker stops sending.
   */
  stream<K extends StreamRpc>(
    rpc: K,
    request: () => RequestOf<K> | undefined,
    context: CallContext,
  ): AsyncGenerator<ResponseOf<K>, void, undefined> {
    return withStreamRetry(rpc, this.retryPolicy, context.signal, () => this.#streamAttempt(rpc, request(), context));
  }

  async *#streamAttempt<K extends StreamRpc>(
    rpc: K,
    request: RequestOf<K> | undefined,
    { signal, jobId }: CallContext,
  ): AsyncGenerator<ResponseOf<K>, void, undefined> {
    if (request === undefined) return;
    if (signal?.aborted) throw abortError(signal, jobId);
    const method = definition(rpc);
    const call = this.#openClient().makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      callMetadata(),
      {},
    );
    const cancel = (): void => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      for await (const message of call) yield message as ResponseOf<K>;
    } catch (error) {
      if (signal?.aborted) throw abortError(signal, jobId);
      throw this.#streamError(rpc, error, jobId);
    } finally {
      signal?.removeEventListener("abort", cancel);
      // When the consumer left early, cancelling makes grpc-js emit a CANCELLED 'error' nobody waits
      // for any more; the listener keeps that expected status from becoming an uncaught exception.
      call.on("error", () => undefined);
      call.cancel();
    }
  }

  #streamError(rpc: Rpc, error: unknown, jobId: string | undefined): WorkerClientError {
    if (isStatusError(error)) return errorFromStatus(error, { rpc, jobId }, trailerDetails(error));
    return new InternalError(`${rpc}: the stream failed: ${String(error)}`, { jobId, cause: error });
  }

  /**
   * Waits until the channel is connected. Fails at the first failed attempt (a refused port, an
   * unknown host) with an `UnavailableError`, rather than at the deadline as grpc-js's waitForReady
   * would, which keeps retrying: a worker that is down is known at once.
   */
  waitForConnection(deadline: number): Promise<void> {
    const channel = this.#openClient().getChannel();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const state = channel.getConnectivityState(true);
        if (state === connectivityState.READY) return resolve();
        if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
          return reject(new UnavailableError(`could not connect to ${this.#address} (refused, unreachable or not resolved)`));
        }
        channel.watchConnectivityState(state, deadline, (error) => (error ? reject(error) : check()));
      };
      check();
    });
  }

  #openClient(): Client {
    if (this.#closed) {
      throw new ConnectionError(`the client for ${this.#address} is closed; create a new one with WorkerClient.connect()`);
    }
    return this.#client;
  }

  close(): void {
    this.#closed = true;
    this.#client.close();
  }
}
