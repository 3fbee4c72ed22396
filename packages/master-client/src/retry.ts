/**
 * When a failed call is tried again: only idempotent RPCs, only for an explicit set of status codes,
 * with jittered exponential backoff, never after the caller aborted and never past its deadline.
 */
import { setTimeout as delay } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import type { WorkerServiceService } from "@opencode-worker/shared";
import { abortError, WorkerClientError } from "./errors.js";
import { readBoolean, readNonNegativeInteger, readObject, readPositiveInteger } from "./validate.js";

/** An RPC of the worker service, as its generated definition names it. */
export type Rpc = keyof typeof WorkerServiceService;

/**
 * Whether repeating an RPC is harmless. Keyed by every RPC of the generated service, so a new RPC
 * fails to compile here until someone decides.
 */
const IDEMPOTENT: Record<Rpc, boolean> = {
  // Idempotent by job_id, and the SDK always sends one: it picks it before the first attempt.
  dispatch: true,
  status: true,
  collect: true,
  // Cancelling a job twice, or an ended one, changes nothing.
  cancel: true,
  // Resumed with after_seq = the last seq seen, so nothing is replayed twice.
  streamJob: true,
  listSessions: true,
  getMetrics: true,
  // Resumed from the offset after the last byte received.
  readArtifact: true,
  readOutput: true,
  findMissingBlobs: true,
  // Resumed from the offset after the last byte received.
  readBlob: true,
  // A blob is content-addressed: storing it again is harmless, and the worker keeps nothing of a failed call.
  uploadBlobs: true,
};

/** How the client retries idempotent calls that failed transiently. */
export interface RetryOptions {
  /** Attempts per call, the first included; 1 disables retries. @default 3 */
  maxAttempts?: number;
  /** Backoff before the second attempt, in ms; it doubles per attempt, with jitter. @default 100 */
  initialDelayMs?: number;
  /** The longest single backoff, in ms. @default 2000 */
  maxDelayMs?: number;
  /** Also retry RESOURCE_EXHAUSTED (the worker's queue is full): it may free up, or may not. @default false */
  retryResourceExhausted?: boolean;
}

export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 2000,
  retryResourceExhausted: false,
};

export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const given = options === undefined ? {} : readObject("retry", options, Object.keys(DEFAULT_RETRY_POLICY));
  return {
    maxAttempts:
      given.maxAttempts === undefined ? DEFAULT_RETRY_POLICY.maxAttempts : readPositiveInteger("retry.maxAttempts", given.maxAttempts),
    initialDelayMs:
      given.initialDelayMs === undefined
        ? DEFAULT_RETRY_POLICY.initialDelayMs
        : readNonNegativeInteger("retry.initialDelayMs", given.initialDelayMs),
    maxDelayMs:
      given.maxDelayMs === undefined ? DEFAULT_RETRY_POLICY.maxDelayMs : readNonNegativeInteger("retry.maxDelayMs", given.maxDelayMs),
    retryResourceExhausted:
      given.retryResourceExhausted === undefined
        ? DEFAULT_RETRY_POLICY.retryResourceExhausted
        : readBoolean("retry.retryResourceExhausted", given.retryResourceExhausted),
  };
}

/** Whether this failure of this RPC may be tried again, under this policy. */
export function isRetryable(rpc: Rpc, error: unknown, policy: RetryPolicy): boolean {
  if (!IDEMPOTENT[rpc] || !(error instanceof WorkerClientError)) return false;
  if (error.grpcCode === status.UNAVAILABLE) return true;
  return error.grpcCode === status.RESOURCE_EXHAUSTED && policy.retryResourceExhausted;
}

/**
 * The pause after `failures` failed attempts: initialDelayMs doubled per failure, capped at
 * maxDelayMs, scaled by a random factor in [0.5, 1) so clients that failed together spread out.
 */
export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failures - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export interface RetryContext {
  signal?: AbortSignal;
  /** Epoch ms after which no attempt may start: the caller's deadline. */
  deadline?: number;
}

/**
 * The pause before trying again after `failures` consecutive failed attempts, or undefined when
 * the error must surface: not retryable, attempts used up, aborted, or the pause would end past the deadline.
 */
export function retryDelayMs(
  rpc: Rpc,
  error: unknown,
  failures: number,
  policy: RetryPolicy,
  context: RetryContext,
  now: number = Date.now(),
): number | undefined {
  if (failures >= policy.maxAttempts || context.signal?.aborted || !isRetryable(rpc, error, policy)) return undefined;
  const pause = backoffDelayMs(failures, policy);
  if (context.deadline !== undefined && now + pause >= context.deadline) return undefined;
  return pause;
}

/** Sleeps, rejecting with the SDK's AbortError when the signal fires. */
export async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw error;
  }
}

/** Runs a unary call, trying again while the policy allows. `attempt` makes one fresh call. */
export async function withRetry<T>(rpc: Rpc, policy: RetryPolicy, context: RetryContext, attempt: () => Promise<T>): Promise<T> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await attempt();
    } catch (error) {
      const pause = retryDelayMs(rpc, error, failures, policy, context);
      if (pause === undefined) throw error;
      await sleep(pause, context.signal);
    }
  }
}

/**
 * Yields from a server stream, reopening it after a retryable failure. `open` builds the call from
 * the caller's progress (after_seq, offset), so a reopened stream continues where the last one broke;
 * any item received resets the failure count, since the worker was reachable.
 */
export async function* withStreamRetry<T>(
  rpc: Rpc,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  open: () => AsyncIterable<T>,
): AsyncGenerator<T, void, undefined> {
  let failures = 0;
  for (;;) {
    try {
      for await (const item of open()) {
        failures = 0;
        yield item;
      }
      return;
    } catch (error) {
      failures += 1;
      const pause = retryDelayMs(rpc, error, failures, policy, { signal });
      if (pause === undefined) throw error;
      await sleep(pause, signal);
    }
  }
}
