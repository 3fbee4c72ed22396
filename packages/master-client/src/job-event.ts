/**
 * One event of a job's stream: a single envelope with a sequence number, switched on `type`.
 * `seq` starts at 1 and grows by one per event of the job, so `afterSeq` resumes exactly.
 */
import type { JobPhase, JobResult, JobState } from "./job-result.js";
import type { ResourceUsage } from "./job-status.js";

interface JobEventBase {
  seq: number;
  timestamp: Date;
  jobId: string;
}

/** The worker took the job. */
export interface JobAcceptedEvent extends JobEventBase {
  type: "accepted";
  sessionId: string;
  state: JobState;
  /** Jobs ahead of this one (0 when it starts at once). */
  queuePosition: number;
}

export interface JobPhaseEvent extends JobEventBase {
  type: "phase";
  phase: JobPhase;
  state: JobState;
}

export interface JobOutputEvent extends JobEventBase {
  type: "output";
  stream: "stdout" | "stderr";
  data: Buffer;
  /** Byte offset of `data[0]` within its stream. */
  offset: number;
}

export interface JobUsageEvent extends JobEventBase {
  type: "usage";
  usage: ResourceUsage;
}

/**
 * The last event of a stream. Its result holds the head of the output that fits the worker's
 * answer (`stdoutTruncated` says when there is more): the output events carried every byte, and
 * `wait()` or `readOutput()` read what the worker kept.
 */
export interface JobCompletedEvent extends JobEventBase {
  type: "completed";
  result: JobResult;
}

/** Sent while nothing else happens, so idle connections stay open. */
export interface JobKeepaliveEvent extends JobEventBase {
  type: "keepalive";
}

export type JobEvent = JobAcceptedEvent | JobPhaseEvent | JobOutputEvent | JobUsageEvent | JobCompletedEvent | JobKeepaliveEvent;
