import { join } from "node:path";
import { JobState, Phase, TerminationReason, uuidv7, type JobSpec, type OutcomeCount } from "@opencode-worker/shared";
import { WorkerError } from "../errors.js";
import { BlobStore } from "../blobs/blob-store.js";
import { removeTree } from "../files/remove-tree.js";
import { LatencyWindow } from "../metrics/latency-window.js";
import { phaseName, reasonName, stateName } from "../observability/enum-names.js";
import { buildResult } from "./build-result.js";
import { mayAccess, type Caller } from "./caller.js";
import { DroppedResults } from "./dropped-results.js";
import { Job, type ValidatedJob } from "./job.js";
import type { IsolationReport } from "../sandbox/driver.js";
import type { JobTrace, JobTracer, TraceParent } from "./job-trace.js";
import { runSession, type SessionContext } from "./run-session.js";
import { validateSpec } from "./validate-spec.js";
import type { AgentRuntime } from "../agent/agent-runtime.js";
import type { ValidatedWorkspace } from "../workspace/validate-workspace.js";
import { scopedBlobs, type ScopedBlobs } from "../workspace/workspace-blobs.js";

/** Dropped results whose reason NOT_FOUND still gives: a fixed cap, so memory stays bounded (ids are at most 128 bytes). */
const REMEMBERED_DROPS = 10_000;

export interface SessionManagerOptions extends Omit<SessionContext, "driver" | "onPhaseDone" | "trace"> {
  /** The probe's verdict: its driver runs the jobs; a refusal makes Dispatch answer FAILED_PRECONDITION. */
  isolation: IsolationReport;
  /** Traces each accepted job (tracing.exporter); absent, no job is traced. */
  tracer?: JobTracer;
  /** The workspace blobs of every caller: a job's are pinned while it runs, and what it changed is stored there. */
  blobStore: BlobStore;
  /** What agent tasks run with (OpenCode and the model providers), or why this worker refuses them. */
  agents: AgentRuntime;
}

/** Told of each session's phases and of each job's end, after it is counted (the Prometheus metrics). */
export interface JobObserver {
  phaseDone(phase: Phase, ms: number): void;
  jobEnded(job: Job): void;
}

/**
 * All jobs of this worker: admission (validation, idempotency, the bounded queue), scheduling onto
 * `worker.concurrency` slots, cancel, and keeping finished results for `session.result_ttl_ms`
 * within `session.result_budget_bytes`. Across a restart only ended jobs' results survive, through
 * the result journal (result-journal.ts); no session's work does.
 */
export class SessionManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly running = new Set<Job>();
  /** Finished jobs, oldest first: the retention order. */
  private readonly retained: Job[] = [];
  private retainedBytes = 0;
  private readonly dropped = new DroppedResults(REMEMBERED_DROPS);
  private draining = false;
  private jobsTotal = 0;
  private readonly outcomes = new Map<string, OutcomeCount>();
  /** Agent tasks' model use, added up as each one ends. */
  private readonly modelTotals = { requests: 0, refused: 0, tokens: 0 };
  readonly jobLatency = new LatencyWindow();
  readonly queueLatency = new LatencyWindow();
  private readonly observers: JobObserver[] = [];
  /** The trace of each job accepted with tracing on, until the job ends. */
  private readonly traces = new Map<Job, JobTrace>();
  /** Releases the pins on each workspace job's blobs, called when the job ends. */
  private readonly pins = new Map<Job, () => void>();

  constructor(private readonly options: SessionManagerOptions) {}

  observe(observer: JobObserver): void {
    this.observers.push(observer);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Accepts a job for `caller`, or returns the existing one when the same caller sends the same job_id
   * with the same spec. Another caller's job_id is ALREADY_EXISTS, worded as for a different spec, so
   * nothing of that job leaks. `parent` is the caller's trace context, which the job's trace continues.
   */
  async dispatch(spec: JobSpec, caller: Caller, parent: TraceParent = {}): Promise<{ job: Job; created: boolean }> {
    const { driver, refusal } = this.options.isolation;
    if (refusal || !driver) throw new WorkerError("FAILED_PRECONDITION", refusal ?? "no sandbox driver is available on this worker");
    const validated = await validateSpec(spec, this.options.config, this.options.agents);
    // Its gateway socket and loopback relay need the sandbox's own mount and network namespaces.
    if (validated.agentTask && driver.isolation !== "sandbox") {
      throw new WorkerError(
        "FAILED_PRECONDITION",
        `agent_task: agent tasks run only in the sandbox, and this worker's isolation is ${driver.isolation}; install bubblewrap (scripts/setup.sh)`,
        { field: "agent_task" },
      );
    }
    if (validated.network === "open" && driver.openNetworkRefusal) {
      throw new WorkerError("FAILED_PRECONDITION", `config.network: ${driver.openNetworkRefusal}`, { field: "config.network" });
    }
    // Checked after the await: a drain may have begun while the spec was being validated.
    if (this.draining)
      throw new WorkerError("UNAVAILABLE", "the worker is shutting down and accepts no new jobs; dispatch to another worker");
    const existing = this.jobs.get(validated.jobId);
    if (existing) {
      if (existing.owner === caller.identity && existing.spec.specHash === validated.specHash) return { job: existing, created: false };
      throw new WorkerError("ALREADY_EXISTS", `job_id ${validated.jobId} is already used by a different job; choose another job_id`, {
        field: "job_id",
        jobId: validated.jobId,
      });
    }
    const { session, worker } = this.options.config;
    if (this.running.size + this.queue.length >= session.maxConcurrentSessions) {
      throw new WorkerError(
        "RESOURCE_EXHAUSTED",
        `the worker holds ${session.maxConcurrentSessions} jobs (running and queued; session.max_concurrent_sessions); retry later or use another worker`,
        { jobId: validated.jobId },
      );
    }
    this.checkQueueCap(caller.identity, validated.jobId);
    // Last of the checks, so nothing can refuse the job once its blobs are pinned.
    const workspace = validated.workspace && this.pinWorkspace(validated.workspace, caller);
    const sessionId = uuidv7();
    const job = this.newJob(validated, sessionId, caller.identity);
    if (workspace) {
      job.workspaceBlobs = workspace.blobs;
      this.pins.set(job, workspace.release);
    }
    this.jobs.set(job.jobId, job);
    this.jobsTotal += 1;
    if (this.options.tracer) this.traces.set(job, this.options.tracer.start(job, parent));
    const queuePosition = Math.max(0, this.running.size + this.queue.length - worker.concurrency + 1);
    job.log.emit({ $case: "accepted", value: { sessionId, state: JobState.JOB_STATE_QUEUED, queuePosition } });
    this.queue.push(job);
    this.startQueued();
    return { job, created: true };
  }

  /**
   * Takes back what the result journal holds from the previous worker process, before the worker
   * serves: ended jobs' results with what is left of their TTL (expired ones are dropped), and jobs
   * that were running when it died, which end now as FAILED saying in which phase they were cut off.
   */
  async recover(): Promise<void> {
    const { journal, log } = this.options;
    const { ended, interrupted } = await journal.read((spec, sessionId, owner, createdUnixMs) =>
      this.newJob(spec, sessionId, owner, createdUnixMs),
    );
    for (const job of ended) this.adopt(job);
    for (const job of interrupted) {
      const message = `the worker restarted during ${phaseName(job.phase).toUpperCase()}: the job did not finish; run it again`;
      job.terminate({ reason: TerminationReason.TERMINATION_REASON_WORKER_ERROR, note: message });
      await journal.complete(job, { ...buildResult(job, this.resultInputs()), message });
      this.adopt(job);
    }
    if (ended.length + interrupted.length > 0)
      log.info(
        { results: ended.length, interrupted: interrupted.length },
        "result journal: jobs of the previous worker process taken back",
      );
  }

  /** The job, or NOT_FOUND: unknown, another caller's (answered as unknown), or its result was dropped (then the message says why). */
  get(jobId: string, caller: Caller): Job {
    const job = this.jobs.get(jobId);
    if (job && mayAccess(caller, job.owner)) return job;
    const dropped = job ? undefined : this.dropped.reasonFor(jobId);
    throw new WorkerError(
      "NOT_FOUND",
      dropped
        ? `job ${JSON.stringify(jobId)} is no longer on this worker: ${dropped}`
        : `no job ${JSON.stringify(jobId)} on this worker (never dispatched to it, dispatched before it restarted, or dropped before the last ${REMEMBERED_DROPS} results it remembers dropping)`,
      { jobId },
    );
  }

  /**
   * Stops a queued or running job. Resolves once its whole process tree is dead and its session
   * destroyed. Idempotent: cancelling an ended job changes nothing.
   */
  async cancel(jobId: string, reason: string, caller: Caller): Promise<Job> {
    return this.stop(this.get(jobId, caller), reason);
  }

  private async stop(job: Job, reason: string): Promise<Job> {
    if (job.isFinished) return job;
    job.terminate({ reason: TerminationReason.TERMINATION_REASON_CANCELLED, note: reason || "cancelled by the client" });
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(job, () => this.options.journal.complete(job, buildResult(job, this.resultInputs())));
    }
    await job.done;
    return job;
  }

  /**
   * Jobs that hold a session now: running and queued. A job's result is published once DESTROY is done,
   * a moment before its run leaves `running`: from then on it holds none (Cancel has returned on it).
   */
  sessions(): Job[] {
    return [...[...this.running].filter((job) => job.result === undefined), ...this.queue];
  }

  stats() {
    return {
      active: this.running.size,
      queued: this.queue.length,
      jobsTotal: this.jobsTotal,
      outcomes: [...this.outcomes.values()],
      retainedResults: this.retained.length,
      retainedResultBytes: this.retainedBytes,
      modelRequestsTotal: this.modelTotals.requests,
      modelRequestsRefusedTotal: this.modelTotals.refused,
      modelTokensTotal: this.modelTotals.tokens,
    };
  }

  /**
   * Graceful stop: no new jobs; queued ones are cancelled at once (they never started), running
   * ones get `graceMs` to finish and are then cancelled. Resolves when every session is destroyed.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    for (const job of [...this.queue]) void this.stop(job, "the worker is shutting down");
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(this.sessions().map((job) => job.done)), graceOver]);
    clearTimeout(timer);
    await Promise.all(this.sessions().map((job) => this.stop(job, `the worker is shutting down (grace ${graceMs} ms over)`)));
  }

  /**
   * Keeps the workspace's blobs in the caller's store until the job ends, and binds that store for
   * the job's phases. Thrown: FAILED_PRECONDITION naming the blobs the caller's store lacks.
   */
  private pinWorkspace(workspace: ValidatedWorkspace, caller: Caller): { blobs: ScopedBlobs; release: () => void } {
    const store = this.options.blobStore;
    const scope = BlobStore.scopeOf(caller);
    const digests = workspace.entries.flatMap((entry) => (entry.kind === "file" ? [entry.digest] : []));
    return {
      release: store.pin(scope, digests),
      blobs: scopedBlobs(store, scope),
    };
  }

  private newJob(spec: ValidatedJob, sessionId: string, owner: string, createdUnixMs?: number): Job {
    const { baseDir, resultOutputBytes } = this.options.config.session;
    return new Job(spec, sessionId, join(baseDir, `session-${sessionId}`), resultOutputBytes, owner, createdUnixMs);
  }

  /** A job of the previous worker process: known again, its result retained. */
  private adopt(job: Job): void {
    this.jobs.set(job.jobId, job);
    this.retain(job);
  }

  private startQueued(): void {
    while (this.running.size < this.options.config.worker.concurrency) {
      // First in, first out, except that the jobs of a caller at worker.max_running_per_caller let others pass.
      const next = this.queue.findIndex((queued) => this.mayStart(queued.owner));
      if (next < 0) break;
      const [job] = this.queue.splice(next, 1) as [Job];
      this.running.add(job);
      const onPhaseDone = (phase: Phase, ms: number): void => this.observers.forEach((observer) => observer.phaseDone(phase, ms));
      const trace = this.traces.get(job);
      this.finish(job, () => runSession(job, { ...this.options, driver: this.options.isolation.driver!, onPhaseDone, trace }));
    }
  }

  /** Whether a job of `owner` may take a free slot under worker.max_running_per_caller. */
  private mayStart(owner: string): boolean {
    const cap = this.options.config.worker.maxRunningPerCaller;
    return cap === 0 || countOwnedBy(this.running, owner) < cap;
  }

  /**
   * worker.max_queued_per_caller: a job that would wait (no free slot, or its caller at
   * worker.max_running_per_caller) is refused once its caller has that many waiting. Admins are not
   * exempt: an admin identity is one more client, and one leaked admin token must not fill the worker.
   */
  private checkQueueCap(owner: string, jobId: string): void {
    const { concurrency, maxQueuedPerCaller, maxRunningPerCaller } = this.options.config.worker;
    const queued = countOwnedBy(this.queue, owner);
    const waits = this.running.size >= concurrency || !this.mayStart(owner);
    if (maxQueuedPerCaller === 0 || !waits || queued < maxQueuedPerCaller) return;
    const runningCap = maxRunningPerCaller === 0 ? "" : `, worker.max_running_per_caller ${maxRunningPerCaller}`;
    throw new WorkerError(
      "RESOURCE_EXHAUSTED",
      `caller ${owner} has ${countOwnedBy(this.running, owner)} jobs running and ${queued} queued (worker.max_queued_per_caller ${maxQueuedPerCaller}${runningCap}); retry when one of them ends`,
      { jobId },
    );
  }

  /** Runs the job to its end, then frees its slot, records it, and retains its result. */
  private finish(job: Job, run: () => void | Promise<void>): void {
    void Promise.resolve()
      .then(run)
      .finally(() => {
        this.running.delete(job);
        this.pins.get(job)?.();
        this.pins.delete(job);
        this.traces.get(job)?.end(job.result);
        this.traces.delete(job);
        this.record(job);
        this.retain(job);
        this.startQueued();
      });
  }

  private record(job: Job): void {
    const result = job.result;
    if (!result) return;
    const key = `${result.state}/${result.reason}`;
    const outcome = this.outcomes.get(key) ?? { state: result.state, reason: result.reason, count: 0 };
    outcome.count += 1;
    this.outcomes.set(key, outcome);
    const usage = result.agent?.usage;
    if (usage) {
      this.modelTotals.requests += usage.requests;
      this.modelTotals.refused += usage.refusedRequests;
      this.modelTotals.tokens += usage.inputTokens + usage.outputTokens;
    }
    this.jobLatency.record(job.ageMs());
    this.queueLatency.record(job.timings.queueMs);
    for (const observer of this.observers) observer.jobEnded(job);
    // The one line per job end, queued jobs cancelled before they ran included.
    this.options.log.info(
      {
        jobId: job.jobId,
        sessionId: job.sessionId,
        state: stateName(result.state),
        reason: reasonName(result.reason),
        exitCode: result.exitCode,
        signal: result.signal || undefined,
        durationMs: job.ageMs(),
        queueMs: job.timings.queueMs,
        executeMs: job.timings.executeMs,
        message: result.message,
      },
      "job ended",
    );
  }

  private retain(job: Job): void {
    const result = job.result;
    if (!result) return;
    // Artifacts held in memory count exactly as stored ones, and so do changed files inline: the budget bounds what results keep, wherever.
    job.resultBytes =
      result.stdoutRetainedBytes +
      result.stderrRetainedBytes +
      [...job.artifacts.values()].reduce((sum, artifact) => sum + artifact.sizeBytes, 0) +
      (result.workspaceChanges?.changes ?? []).reduce((sum, change) => sum + change.content.length, 0);
    this.retained.push(job);
    this.retainedBytes += job.resultBytes;
    const { resultTtlMs, resultBudgetBytes } = this.options.config.session;
    const expire = (): Promise<void> =>
      this.drop(job, `its result was dropped after session.result_ttl_ms (${resultTtlMs} ms): collect results sooner or raise it`);
    // Counted from the job's end, which for a result of the previous worker process may be long past.
    const ttlLeftMs = (job.endedUnixMs ?? Date.now()) + resultTtlMs - Date.now();
    if (ttlLeftMs <= 0) return void expire();
    setTimeout(() => void expire(), ttlLeftMs).unref();
    // Over budget: the oldest results go first, but never the one just finished.
    while (this.retainedBytes > resultBudgetBytes && this.retained.length > 1) {
      void this.drop(
        this.retained[0]!,
        `its result was dropped to stay within session.result_budget_bytes (${resultBudgetBytes} bytes): collect results sooner or raise it`,
      );
    }
  }

  /** Forgets a finished job and frees its artifacts (memory and store), remembering why for NOT_FOUND. */
  private async drop(job: Job, reason: string): Promise<void> {
    const index = this.retained.indexOf(job);
    if (index < 0) return;
    this.retained.splice(index, 1);
    this.retainedBytes -= job.resultBytes;
    this.jobs.delete(job.jobId);
    this.dropped.record(job.jobId, reason);
    // Cleared, not left to the collector: a stream still attached to the job must not keep its artifacts alive.
    job.artifacts.clear();
    await this.options.journal.forget(job);
    if (job.storeDir) await removeTree(job.storeDir);
  }

  private resultInputs() {
    return { workerId: this.options.config.worker.id, isolation: this.options.isolation.mode, unenforcedLimits: [] };
  }
}

function countOwnedBy(jobs: Iterable<Job>, owner: string): number {
  let count = 0;
  for (const job of jobs) if (job.owner === owner) count += 1;
  return count;
}
