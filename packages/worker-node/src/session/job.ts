import { JobState, Phase, type JobEvent, type JobResult, type SessionConfig } from "@opencode-worker/shared";
import type { ValidatedAgentTask } from "../agent/validate-agent-task.js";
import type { CollectedArtifact } from "../files/collect-artifacts.js";
import type { ValidatedFile } from "../files/write-inputs.js";
import type { Termination } from "../limits/outcome.js";
import type { ResolvedLimits, SandboxUsage } from "../sandbox/driver.js";
import type { FileIdentity } from "../workspace/materialize-workspace.js";
import type { ValidatedWorkspace } from "../workspace/validate-workspace.js";
import type { ScopedBlobs } from "../workspace/workspace-blobs.js";
import { EventLog } from "./event-log.js";
import { assertTransition, isFinalState, stateOfPhase } from "./lifecycle.js";

/** A job spec after validation: everything the phases need, nothing left to check. */
export interface ValidatedJob {
  jobId: string;
  /** Hash of the canonical spec: a repeated Dispatch with the same job_id must match it. */
  specHash: string;
  argv: string[];
  files: ValidatedFile[];
  env: Map<string, string>;
  /** Relative to the work dir; "" is the work dir itself. */
  cwd: string;
  stdin: Buffer;
  limits: ResolvedLimits;
  network: "restricted" | "open";
  sessionConfig: SessionConfig;
  artifactPatterns: string[];
  /** JobSpec.workspace, when the spec has one (an agent task always does): materialized in PREPARE, compared in COLLECT. */
  workspace?: ValidatedWorkspace;
  /** JobSpec.agent_task: `argv` then runs OpenCode with it, and EXECUTE serves its model gateway. */
  agentTask?: ValidatedAgentTask;
}

/** Milliseconds spent in each step, filled in as the job moves. */
export interface JobTimings {
  queueMs: number;
  initMs: number;
  prepareMs: number;
  executeMs: number;
  collectMs: number;
  destroyMs: number;
}

const ZERO_USAGE: SandboxUsage = { cpuTimeMs: 0, memoryBytes: 0, memoryPeakBytes: 0, pids: 0 };

/** What the result journal kept of a job that ended under an earlier worker process (result-journal.ts). */
export interface EndedJob {
  startedUnixMs: number | undefined;
  endedUnixMs: number;
  phase: Phase;
  timings: JobTimings;
  usage: SandboxUsage;
  /** The events kept for replay, without `completed`. */
  events: readonly JobEvent[];
  result: JobResult;
}

/** The performance.now() of a wall-clock time, so a restored job's ages and durations read as a live one's. */
function monotonicOf(unixMs: number): number {
  return performance.now() - (Date.now() - unixMs);
}

/**
 * One job and its session, from Dispatch until its result is dropped: state, phase, events,
 * the first termination cause, and the result. The phases move it; handlers only read it.
 */
export class Job {
  readonly log: EventLog;
  readonly createdAt: number;
  startedAt: number | undefined;
  startedUnixMs: number | undefined;
  endedAt: number | undefined;
  endedUnixMs: number | undefined;
  state = JobState.JOB_STATE_QUEUED;
  phase = Phase.PHASE_UNSPECIFIED;
  usage: SandboxUsage = ZERO_USAGE;
  readonly timings: JobTimings = { queueMs: 0, initMs: 0, prepareMs: 0, executeMs: 0, collectMs: 0, destroyMs: 0 };
  termination: Termination | undefined;
  result: JobResult | undefined;
  /** Bytes this job's result holds (output, and artifacts in memory or stored), for the retention budget. */
  resultBytes = 0;
  /** Where collected artifacts larger than session.artifact_inline_bytes are stored until the result is dropped. */
  storeDir: string | undefined;
  /** Each collected artifact by its path in the result, for ReadArtifact: its content in memory, or its stored copy. */
  readonly artifacts = new Map<string, CollectedArtifact>();
  /** The workspace's blobs in the scope of the caller that dispatched it (pinned until the job ends), when it has a workspace. */
  workspaceBlobs: ScopedBlobs | undefined;
  /** What PREPARE materialized: each file's identity, for COLLECT's comparison (none in an overlay). */
  materialized: ReadonlyMap<string, FileIdentity> | undefined;
  /** The upper dir of the work dir's overlay, when PREPARE mounted one: only what it holds can have changed. */
  workspaceUpperDir: string | undefined;
  readonly done: Promise<JobResult>;
  private resolveDone!: (result: JobResult) => void;
  private readonly terminationListeners = new Set<(termination: Termination) => void>();

  constructor(
    readonly spec: ValidatedJob,
    readonly sessionId: string,
    readonly sessionDir: string,
    outputRetentionBytes: number,
    /** The identity that dispatched it (see caller.ts): only it and admins may see the job. */
    readonly owner: string,
    /** Earlier than now only for a job an earlier worker process accepted. */
    readonly createdUnixMs = Date.now(),
  ) {
    this.createdAt = monotonicOf(createdUnixMs);
    this.log = new EventLog(spec.jobId, outputRetentionBytes);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get jobId(): string {
    return this.spec.jobId;
  }

  get isFinished(): boolean {
    return isFinalState(this.state);
  }

  /** Records why the job ends. The first cause wins; returns false when one was already recorded. */
  terminate(termination: Termination): boolean {
    if (this.termination) return false;
    this.termination = termination;
    for (const listener of this.terminationListeners) listener(termination);
    return true;
  }

  /** Calls `listener` once, when the job is told to end (at once if it already was). */
  onTerminate(listener: (termination: Termination) => void): () => void {
    if (this.termination) {
      listener(this.termination);
      return () => {};
    }
    this.terminationListeners.add(listener);
    return () => this.terminationListeners.delete(listener);
  }

  markStarted(): void {
    this.startedAt = performance.now();
    this.startedUnixMs = Date.now();
    this.timings.queueMs = Math.round(this.startedAt - this.createdAt);
  }

  enterPhase(phase: Phase): void {
    assertTransition(this.phase, phase);
    this.phase = phase;
    this.state = stateOfPhase(phase);
    this.log.emit({ $case: "phaseChanged", value: { phase, state: this.state } });
  }

  /** Publishes the result: Status, Collect and every stream see it from here on. */
  complete(result: JobResult, endedUnixMs = Date.now()): void {
    this.endedAt = monotonicOf(endedUnixMs);
    this.endedUnixMs = endedUnixMs;
    this.state = result.state;
    this.result = result;
    this.log.emit({ $case: "completed", value: result }, endedUnixMs);
    this.resolveDone(result);
  }

  /** Puts back when a job of an earlier worker process started and the phase it was last in. */
  restoreStart(startedUnixMs: number | undefined, phase: Phase): void {
    if (startedUnixMs !== undefined) {
      this.startedUnixMs = startedUnixMs;
      this.startedAt = monotonicOf(startedUnixMs);
      // From the two journaled wall-clock times: two monotonicOf() readings a moment apart can differ by a
      // millisecond, which made a job started at once -1 ms queued (a uint64 no result can carry). A
      // clock stepped back in between counts as no queueing.
      this.timings.queueMs = Math.max(0, startedUnixMs - this.createdUnixMs);
    }
    this.phase = phase;
    this.state = stateOfPhase(phase);
  }

  /** Puts back, as it was when it ended, a job that ended under an earlier worker process. */
  restore(ended: EndedJob): void {
    this.restoreStart(ended.startedUnixMs, ended.phase);
    Object.assign(this.timings, ended.timings);
    this.usage = ended.usage;
    this.log.restore(ended.events);
    this.complete(ended.result, ended.endedUnixMs);
  }

  /**
   * Milliseconds since the job left the queue, or until its end. An ended job's comes from its
   * wall-clock stamps, which the result journal keeps, so it reads the same after a restart.
   */
  elapsedMs(now = performance.now()): number {
    if (this.startedAt === undefined || this.startedUnixMs === undefined) return 0;
    if (this.endedUnixMs !== undefined) return this.endedUnixMs - this.startedUnixMs;
    return Math.round(now - this.startedAt);
  }

  /** Milliseconds since Dispatch, or until the end when it has ended. */
  ageMs(now = performance.now()): number {
    return Math.round((this.endedAt ?? now) - this.createdAt);
  }
}
