/** What a worker says about a job while it runs, and about its live sessions. */
import type { JobPhase, JobState, TerminationReason } from "./job-result.js";

export interface ResourceUsage {
  cpuTimeMs: number;
  memoryBytes: number;
  memoryPeakBytes: number;
  pids: number;
}

export interface JobStatus {
  jobId: string;
  sessionId: string;
  state: JobState;
  phase: JobPhase;
  /** True once the state is final (finished, failed, timed_out, cancelled). */
  ended: boolean;
  /** Why it ended; undefined while it runs. */
  reason?: TerminationReason;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  queueMs: number;
  elapsedMs: number;
  usage?: ResourceUsage;
  /** The seq of the latest event: `events({ afterSeq: lastSeq })` follows from now on. */
  lastSeq: number;
}

export interface SessionInfo {
  sessionId: string;
  jobId: string;
  state: JobState;
  phase: JobPhase;
  ageMs: number;
  usage?: ResourceUsage;
}

/** What `cancel()` did. */
export interface CancelOutcome {
  /** True when the job ended because it was cancelled (by this call or an earlier one). */
  cancelled: boolean;
  state: JobState;
}
