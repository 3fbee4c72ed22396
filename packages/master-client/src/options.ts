/** The client's options: raw as the caller writes them, then defaults, then the compiled form. */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type ClientOptions,
  credentials,
  InterceptingCall,
  type Interceptor,
} from "@grpc/grpc-js";
import { resolveRetryPolicy, type RetryOptions, type RetryPolicy } from "./retry.js";
import { invalid, readBytes, readNonEmptyString, readObject, readPositiveInteger, readRecord } from "./validate.js";

/** PEM contents (not paths) for a TLS connection. */
export interface TlsOptions {
  /** The CA that signed the worker's certificate. @default the system's root CAs */
  ca?: string | Uint8Array;
  /** The client certificate chain, for a worker that sets tls.client_ca_file (mTLS); needs `key`. */
  cert?: string | Uint8Array;
  /** The client certificate's private key; needs `cert`. */
  key?: string | Uint8Array;
}

export interface WorkerClientOptions {
  /** The worker's `host:port`. @default "127.0.0.1:50051" */
  address?: string;
  /** Channel credentials, e.g. `credentials.createSsl(ca)`; not with `tls`. @default credentials.createInsecure() */
  credentials?: ChannelCredentials;
  /** Connect with TLS (and a client certificate for mTLS), for a worker that sets tls.cert_file. @default plaintext */
  tls?: TlsOptions;
  /**
   * A token of the worker's auth.token_file, sent as `authorization: Bearer <token>` on every call.
   * Without `tls` it travels in clear: use it so only with a worker on this machine.
   */
  token?: string;
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

const OPTION_KEYS = ["address", "credentials", "tls", "token", "requestTimeoutMs", "retry", "channelOptions", "interceptors"] as const;
const TLS_KEYS = ["ca", "cert", "key"] as const;

export const DEFAULT_ADDRESS = "127.0.0.1:50051";
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function compileClientOptions(input: WorkerClientOptions): CompiledClientOptions {
  const options = readObject("options", input, OPTION_KEYS, "");
  const interceptors = options.interceptors ?? [];
  if (!Array.isArray(interceptors)) throw invalid("interceptors", "an array of grpc-js interceptors", interceptors);
  return {
    address: options.address === undefined ? DEFAULT_ADDRESS : readNonEmptyString("address", options.address),
    credentials: channelCredentials(options.credentials, options.tls),
    requestTimeoutMs:
      options.requestTimeoutMs === undefined
        ? DEFAULT_REQUEST_TIMEOUT_MS
        : readPositiveInteger("requestTimeoutMs", options.requestTimeoutMs),
    retry: resolveRetryPolicy(options.retry as RetryOptions | undefined),
    grpcOptions: {
      ...(options.channelOptions === undefined ? {} : readRecord("channelOptions", options.channelOptions)),
      interceptors: [
        ...(options.token === undefined ? [] : [bearerToken(readNonEmptyString("token", options.token))]),
        ...(interceptors as Interceptor[]),
      ],
    },
  };
}

function channelCredentials(given: unknown, tls: unknown): ChannelCredentials {
  if (tls === undefined) {
    // Not checked with instanceof: the caller's grpc-js may be another copy than ours.
    return (given as ChannelCredentials | undefined) ?? credentials.createInsecure();
  }
  if (given !== undefined) throw invalid("tls", "either tls or credentials, not both", tls);
  const pem = readObject("tls", tls, TLS_KEYS);
  const read = (key: (typeof TLS_KEYS)[number]): Buffer | null => (pem[key] === undefined ? null : readBytes(`tls.${key}`, pem[key]));
  const [ca, cert, key] = [read("ca"), read("cert"), read("key")];
  if ((cert === null) !== (key === null))
    throw invalid(cert === null ? "tls.cert" : "tls.key", "tls.cert and tls.key together", pem.cert ?? pem.key);
  return credentials.createSsl(ca, key, cert);
}

/**
 * Adds the token to every call's metadata. An interceptor rather than call credentials: grpc-js
 * refuses call credentials on a plaintext channel, and a worker on loopback may take a token without TLS.
 */
function bearerToken(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
