/**
 * The typed SDK for opencode-worker: dispatch a job to a worker, follow its output, get its result.
 *
 * A result and a failure have the same shape (`JobFailedError` implements `JobResult`); call
 * errors are a small class tree with a closed set of `code`s. `requestTimeoutMs` bounds each RPC;
 * a job's own lifetime is `limits.timeoutMs`, and waits and streams last as long as the job.
 *
 * @example
 * import { JobFailedError, WorkerClient } from "@opencode-worker/master-client";
 *
 * const client = await WorkerClient.connect({ address: "127.0.0.1:50051" });
 * try {
 *   const result = await client.run({
 *     argv: ["./build.sh"],
 *     files: { "build.sh": { content: "#!/bin/sh\necho built\n", mode: 0o755 } },
 *     limits: { memory: "512MiB", timeoutMs: 60_000 },
 *   });
 *   console.log(result.stdoutText, `${result.durationMs} ms`);
 *
 *   // Or follow a job as it runs; breaking out of the loop cancels the stream, not the job.
 *   const job = await client.dispatch({ command: "echo one; sleep 1; echo two" });
 *   for await (const event of job.events()) {
 *     if (event.type === "output") process.stdout.write(event.data);
 *   }
 * } catch (error) {
 *   if (!(error instanceof JobFailedError)) throw error;
 *   console.error(error.reason, error.exitCode, error.stderrText);
 * } finally {
 *   client.close();
 * }
 */
export { WorkerClient } from "./worker-client.js";
export type { JobStream } from "./worker-client.js";
export { JobHandle } from "./job-handle.js";
export type { OutputListener, OutputListenerOptions } from "./job-handle.js";
export type { JobEventsOptions } from "./job-events.js";
export type { ReadArtifactOptions } from "./artifact-reader.js";
export type { ReadOutputOptions, ResultOptions } from "./output-reader.js";
export type { RequestOptions } from "./transport.js";
export { DEFAULT_ADDRESS, DEFAULT_REQUEST_TIMEOUT_MS } from "./options.js";
export type { TlsOptions, WorkerClientOptions } from "./options.js";
export { DEFAULT_RETRY_POLICY } from "./retry.js";
// Sizes as `limits` takes them (`"512MiB"`) and as results are best shown.
export { formatBytes, parseByteSize } from "@opencode-worker/shared";
export type { RetryOptions } from "./retry.js";
export type {
  ByteSize,
  FileInput,
  JobLimitsInput,
  AgentTaskInput,
  JobSpec,
  NetworkAccess,
  SessionConfigInput,
  WorkspaceEntry,
  WorkspaceManifest,
} from "./job-spec.js";
export type {
  AgentOutcome,
  JobArtifact,
  JobPhase,
  JobResult,
  JobState,
  ModelUsage,
  PhaseDurations,
  SkippedArtifact,
  TerminationReason,
  WorkspaceChange,
  WorkspaceChanges,
} from "./job-result.js";
export { RemoteWorkspace } from "./workspace/remote-workspace.js";
export type { WorkspaceRun, WorkspaceRunOptions, WorkspaceSync } from "./workspace/remote-workspace.js";
export type { AppliedChanges } from "./workspace/apply-changes.js";
export type { BlobDigest, BlobSource } from "./workspace/blob-digest.js";
export { DEFAULT_WORKSPACE_MAX_BYTES, DEFAULT_WORKSPACE_MAX_ENTRIES } from "./workspace/workspace-options.js";
export type { WorkspaceOptions } from "./workspace/workspace-options.js";
export type {
  JobAcceptedEvent,
  JobAgentStepEvent,
  JobCompletedEvent,
  JobEvent,
  JobKeepaliveEvent,
  JobModelCallEvent,
  JobOutputEvent,
  JobPhaseEvent,
  JobUsageEvent,
} from "./job-event.js";
export type { CancelOutcome, JobStatus, ResourceUsage, SessionInfo } from "./job-status.js";
export type { LatencySummary, OutcomeCount, WorkerMetrics } from "./worker-metrics.js";
export type { HealthStatus } from "./health-check.js";
export {
  AbortError,
  AlreadyExistsError,
  CancelledError,
  ConnectionError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  JobFailedError,
  JobNotFinishedError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
  WorkerClientError,
} from "./errors.js";
export type { WorkerClientErrorCode, WorkerClientErrorContext } from "./errors.js";
