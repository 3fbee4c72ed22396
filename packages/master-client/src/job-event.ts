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

/** A delegated agent's progress, read from OpenCode's event lines. */
export interface JobAgentStepEvent extends JobEventBase {
  type: "agent_step";
  /** "unknown" is a kind this SDK version does not know. */
  kind: "step_started" | "tool" | "text" | "step_finished" | "error" | "unknown";
  /** tool: the tool's name, e.g. "bash". */
  tool?: string;
  /** tool: "completed" or "error". */
  status?: string;
  /** text: the text; tool: what the call did (or its error); error: the message. At most 4 KiB. */
  text: string;
}

/** A delegated agent's request of its model, once its response ended or the gateway refused it. */
export interface JobModelCallEvent extends JobEventBase {
  type: "model_call";
  /** The request's number within the job, from 1. */
  number: number;
  /** "provider/model". */
  model: string;
  /** The provider's HTTP status; 429 when the gateway refused the request. */
  httpStatus: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  firstByteMs: number;
  /** Why the gateway refused it without forwarding it, e.g. "model budget spent: ..."; unset when forwarded. */
  refused?: string;
}

/** Sent while nothing else happens, so idle connections stay open. */
export interface JobKeepaliveEvent extends JobEventBase {
  type: "keepalive";
}

export type JobEvent =
  | JobAcceptedEvent
  | JobPhaseEvent
  | JobOutputEvent
  | JobUsageEvent
  | JobAgentStepEvent
  | JobModelCallEvent
  | JobCompletedEvent
  | JobKeepaliveEvent;
