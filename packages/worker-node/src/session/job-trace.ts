import type { JobResult, Phase } from "@opencode-worker/shared";

/**
 * The W3C trace context a caller sent with its Dispatch or StreamJob (`traceparent`, `tracestate`), as
 * plain strings: the server reads them from the call's metadata, and session/ knows nothing of gRPC.
 */
export interface TraceParent {
  traceparent?: string;
  tracestate?: string;
}

/** One job's trace, from its acceptance to its result: observability/tracing.ts makes it of OpenTelemetry spans. */
export interface JobTrace {
  /** Marks the start of a phase; the returned function marks its end. */
  phase(phase: Phase): () => void;
  end(result: JobResult | undefined): void;
}

/**
 * Starts a job's trace. Absent when tracing is off, so an untraced worker pays nothing per job; session/
 * stays free of OpenTelemetry by seeing only these two interfaces.
 */
export interface JobTracer {
  start(job: { jobId: string; sessionId: string }, parent: TraceParent): JobTrace;
}
