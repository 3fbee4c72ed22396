/** The client's options: raw as the caller writes them, then defaults, then the compiled form. */
import { type ChannelCredentials, type ChannelOptions, type ClientOptions, credentials, type Interceptor } from "@grpc/grpc-js";
import { resolveRetryPolicy, type RetryOptions, type RetryPolicy } from "./retry.js";
import { invalid, readNonEmptyString, readObject, readPositiveInteger, readRecord } from "./validate.js";

export interface WorkerClientOptions {
  /** The worker's `host:port`. @default "127.0.0.1:50051" */
  address?: string;
  /** Channel credentials, e.g. `credentials.createSsl(ca)`. @default credentials.createInsecure() */
  credentials?: ChannelCredentials;
  /**
   * The deadline of one call in ms, its retries included (and of `connect()`'s check), overridable
   * per call. It bounds an RPC, never a job: the job's lifetime is `limits.timeoutMs`, and waits and
   * streams last as long as the job.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /** Retries of idempotent calls after UNAVAILABLE. @default { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 2000 } */
  retry?: RetryOptions;
  /**
   * grpc-js channel options, e.g. `{ "grpc.keepalive_time_ms": 10000 }`. grpc-js's 4 MiB receive
   * limit needs no raising: every answer of the worker stays under it (long output and artifacts
   * are read in chunks).
   * @default {}
   */
  channelOptions?: ChannelOptions;
  /** grpc-js client interceptors, e.g. to add auth metadata or trace calls. @default [] */
  interceptors?: Interceptor[];
}

export interface CompiledClientOptions {
  address: string;
  credentials: ChannelCredentials;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  grpcOptions: ClientOptions;
}

const OPTION_KEYS = ["address", "credentials", "requestTimeoutMs", "retry", "channelOptions", "interceptors"] as const;

export const DEFAULT_ADDRESS = "127.0.0.1:50051";
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function compileClientOptions(input: WorkerClientOptions): CompiledClientOptions {
  const options = readObject("options", input, OPTION_KEYS, "");
  const interceptors = options.interceptors ?? [];
  if (!Array.isArray(interceptors)) throw invalid("interceptors", "an array of grpc-js interceptors", interceptors);
  return {
    address: options.address === undefined ? DEFAULT_ADDRESS : readNonEmptyString("address", options.address),
    // Not checked with instanceof: the caller's grpc-js may be another copy than ours.
    credentials: (options.credentials as ChannelCredentials | undefined) ?? credentials.createInsecure(),
    requestTimeoutMs:
      options.requestTimeoutMs === undefined
        ? DEFAULT_REQUEST_TIMEOUT_MS
        : readPositiveInteger("requestTimeoutMs", options.requestTimeoutMs),
    retry: resolveRetryPolicy(options.retry as RetryOptions | undefined),
    grpcOptions: {
      ...(options.channelOptions === undefined ? {} : readRecord("channelOptions", options.channelOptions)),
      interceptors: interceptors as Interceptor[],
    },
  };
}
