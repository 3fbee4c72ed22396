/** A worker's view of itself: load, outcomes, latency, isolation. */
import type { JobState, TerminationReason } from "./job-result.js";

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** How many jobs ended in this state for this reason. */
export interface OutcomeCount {
  state: JobState;
  reason: TerminationReason;
  count: number;
}

export interface WorkerMetrics {
  workerId: string;
  version: string;
  uptimeMs: number;
  /** Jobs run at once. */
  concurrency: number;
  maxQueued: number;
  active: number;
  queued: number;
  jobsTotal: number;
  outcomes: OutcomeCount[];
  /** Dispatch to result. */
  jobLatency: LatencySummary;
  queueLatency: LatencySummary;
  rssBytes: number;
  heapUsedBytes: number;
  /** "sandbox", "reduced" or "none". */
  isolationMode: string;
  /** What the worker's start-up probe found, one line each. */
  isolationDetails: string[];
  /** A draining worker finishes its jobs and accepts no new ones. */
  draining: boolean;
  retainedResults: number;
  retainedResultBytes: number;
  /** Blobs in the workspace blob store, of every caller. */
  blobStoreBlobs: number;
  blobStoreBytes: number;
  /** Blobs UploadBlobs stored since the worker started (not those already present). */
  blobsUploadedTotal: number;
  blobBytesUploadedTotal: number;
  /** The OpenCode agent tasks run with, e.g. "1.18.33"; empty when the worker runs none. */
  opencodeVersion: string;
  /** Model requests the gateway forwarded for agent tasks since the worker started. */
  modelRequestsTotal: number;
  /** Model requests it refused (budget spent, unknown route). */
  modelRequestsRefusedTotal: number;
  /** Tokens (prompt plus answer) the providers reported. */
  modelTokensTotal: number;
}
