/**
 * What a job produced. A job that failed has exactly the same shape as one that succeeded
 * (`JobFailedError` implements `JobResult`), so code reading a result never needs two paths.
 */

/**
 * Where a job is in its life. "unknown" is a state this SDK version does not know (a newer worker).
 * The last four are final.
 */
export type JobState = "queued" | "preparing" | "running" | "collecting" | "finished" | "failed" | "timed_out" | "cancelled" | "unknown";

export type JobPhase = "init" | "prepare" | "execute" | "collect" | "destroy" | "unknown";

/** Why a job ended; the first cause wins. "unknown" is a reason this SDK version does not know. */
export type TerminationReason =
  | "exited"
  | "signaled"
  | "timeout"
  | "idle_timeout"
  | "memory_limit"
  | "output_limit"
  | "pids_limit"
  | "disk_limit"
  | "cancelled"
  | "policy_denied"
  | "worker_error"
  | "model_budget"
  | "unknown";

/** A collected file of the output dir. */
export interface JobArtifact {
  /** Relative to the output dir, '/'-separated. */
  path: string;
  sizeBytes: number;
  /** Hex sha256 of the content. */
  sha256: string;
  /** The content, when it was small enough to travel inline; otherwise read it with `readArtifact()`. */
  content?: Buffer;
}

/** A file of the output dir that was not collected, and why. */
export interface SkippedArtifact {
  path: string;
  reason: string;
}

/** Time spent in each phase, in ms. */
export interface PhaseDurations {
  initMs: number;
  prepareMs: number;
  executeMs: number;
  collectMs: number;
  destroyMs: number;
}

export interface JobResult {
  readonly jobId: string;
  readonly sessionId: string;
  readonly state: JobState;
  readonly reason: TerminationReason;
  /** Set when the command exited by itself. */
  readonly exitCode?: number;
  /** Set when the command was killed by a signal, e.g. "SIGKILL". */
  readonly signal?: string;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** `stdout` decoded as UTF-8. */
  readonly stdoutText: string;
  /** `stderr` decoded as UTF-8. */
  readonly stderrText: string;
  /**
   * True when `stdout` holds less than the job wrote (`stdoutTotalBytes`): the worker kept only the
   * first `stdoutRetainedBytes` (its session.result_output_bytes), or this result holds only the head
   * the worker's answer carried (`fullOutput: false`, or a "completed" event): `readOutput()` reads the rest.
   */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly stdoutTotalBytes: number;
  readonly stderrTotalBytes: number;
  /**
   * Newline characters the job wrote to stdout, counted by the worker over all `stdoutTotalBytes` (also
   * past the retained bytes), so a caller can say how many lines it leaves out without reading them. A
   * last line without a trailing newline is not counted.
   */
  readonly stdoutLines: number;
  /** Like `stdoutLines`, for stderr. */
  readonly stderrLines: number;
  /** Bytes of stdout the worker kept for this result, from the start: what `readOutput("stdout")` reads. */
  readonly stdoutRetainedBytes: number;
  readonly stderrRetainedBytes: number;
  readonly artifacts: JobArtifact[];
  readonly skippedArtifacts: SkippedArtifact[];
  /**
   * Collected artifacts left out of `artifacts` so the worker's answer stays under 4 MiB (very many
   * files or very long paths); each can still be read by its path with `readArtifact()`.
   */
  readonly unlistedArtifacts: number;
  /** Entries left out of `skippedArtifacts` for the same reason. */
  readonly unlistedSkippedArtifacts: number;
  /** From leaving the queue to the result (INIT through DESTROY). */
  readonly durationMs: number;
  readonly queueMs: number;
  readonly phaseMs: PhaseDurations;
  readonly cpuTimeMs: number;
  readonly memoryPeakBytes: number;
  /** Processes of the job's tree the worker killed: leftovers after the command exited, or the whole tree when it stopped the job. */
  readonly processesReaped: number;
  readonly workerId: string;
  /** The job hit `limits.timeoutMs` or `limits.idleTimeoutMs`. */
  readonly timedOut: boolean;
  /** The job was cancelled (by `cancel()` or the worker). */
  readonly isCanceled: boolean;
  /** One line for a human: what happened and what to change. */
  readonly message: string;
  /** How the job was isolated, e.g. "sandbox" or "none (trusted, unsandboxed)". */
  readonly isolation: string;
  /** Limits the worker could not enforce for this job. */
  readonly unenforcedLimits: string[];
  /** What the command changed in the work dir, when the spec had a `workspace` and the command ran. */
  readonly workspaceChanges?: WorkspaceChanges;
  /** What the delegated agent produced, when the spec was an `agentTask` (its changes are in `workspaceChanges`). */
  readonly agent?: AgentOutcome;
}

/** A delegated agent's answer and its use of the model. */
export interface AgentOutcome {
  /** The agent's last text: its answer to the prompt. */
  finalText: string;
  /** Counted by the worker's model gateway. */
  usage: ModelUsage;
  /** The OpenCode version that ran the task. */
  opencodeVersion: string;
  /** Steps (model turns) the agent took. */
  steps: number;
  toolCalls: number;
  /** Those of its tool calls that ended in an error. */
  failedToolCalls: number;
}

export interface ModelUsage {
  /** Requests forwarded to the provider. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Requests the gateway refused: the budget was spent, or a route it does not serve. */
  refusedRequests: number;
}

export interface WorkspaceChanges {
  /** Sorted by path. */
  changes: WorkspaceChange[];
  /** Changes were left out (the worker's caps): a path missing from the list may have changed too. */
  truncated: boolean;
  /** Why, for a human, when truncated. */
  truncatedReason: string;
}

/** What the command did to one path of the work dir. */
export interface WorkspaceChange {
  path: string;
  kind: "added" | "modified" | "deleted";
  /** What the path is now: "none" when deleted; "special" (a FIFO, socket or device) is reported, never created. */
  type: "file" | "symlink" | "special" | "none";
  /** A file's new content digest; read it with `WorkerClient.readBlob()` unless `content` is set. */
  sha256?: string;
  size?: number;
  /** A file's permission bits. */
  mode?: number;
  symlinkTarget?: string;
  /** The whole content, when it was small enough to travel inline. */
  content?: Buffer;
  /** Under a remote-only glob: the content stays on the worker; list it in the next manifest instead. */
  remoteOnly: boolean;
}
