import { Phase, TerminationReason } from "@opencode-worker/shared";
import type { WorkerConfig } from "../config/worker-config.js";
import type { Logger } from "../logging/logger.js";
import { phaseName } from "../observability/enum-names.js";
import type { PreparedSandbox, SandboxDriver } from "../sandbox/driver.js";
import { buildResult } from "./build-result.js";
import type { Job, JobTimings } from "./job.js";
import type { JobTrace } from "./job-trace.js";
import { collectPhase, type Collected } from "./phases/collect.js";
import { destroyPhase } from "./phases/destroy.js";
import { executePhase, type ExecutionReport } from "./phases/execute.js";
import { initPhase } from "./phases/init.js";
import { preparePhase } from "./phases/prepare.js";
import type { ResultJournal } from "./result-journal.js";
import { lateFailure } from "./result-losses.js";

export interface SessionContext {
  driver: SandboxDriver;
  config: WorkerConfig;
  log: Logger;
  /** Worker-owned directory where collected artifacts wait for ReadArtifact. */
  resultsDir: string;
  /** Records the running job's phase, and its result before it is published. */
  journal: ResultJournal;
  /** Told how long each phase took (the phase histogram of the metrics). */
  onPhaseDone?: (phase: Phase, ms: number) => void;
  /** This job's trace, when tracing is on: a span per phase. */
  trace?: JobTrace;
}

/**
 * Runs one job's session through INIT -> PREPARE -> EXECUTE -> COLLECT -> DESTROY. A cancel or a
 * failure skips ahead to DESTROY, which always runs; the result is published only after it, so a
 * caller that has the result knows the session is gone, and only once the journal holds it. Never throws.
 */
export async function runSession(job: Job, ctx: SessionContext): Promise<void> {
  const log = ctx.log.child({ jobId: job.jobId, sessionId: job.sessionId });
  job.markStarted();
  log.info({ queueMs: job.timings.queueMs, argv0: job.spec.argv[0] }, "session started");

  const phase = async <T>(which: Phase, timing: keyof JobTimings, run: () => Promise<T>): Promise<T> => {
    job.enterPhase(which);
    ctx.journal.running(job);
    const started = performance.now();
    const endSpan = ctx.trace?.phase(which);
    try {
      return await run();
    } finally {
      job.timings[timing] = Math.round(performance.now() - started);
      log.info({ phase: phaseName(which), ms: job.timings[timing] }, "phase done");
      ctx.onPhaseDone?.(which, job.timings[timing]);
      endSpan?.();
    }
  };
  // A job cancelled before EXECUTE never runs its command.
  const proceed = (): boolean => job.termination === undefined;

  let sandbox: PreparedSandbox | undefined;
  let report: ExecutionReport | undefined;
  let collected: Collected | undefined;
  const lateFailures: string[] = [];
  try {
    sandbox = await phase(Phase.PHASE_INIT, "initMs", () => initPhase(job, ctx.driver));
    const prepared = sandbox;
    if (proceed()) await phase(Phase.PHASE_PREPARE, "prepareMs", () => preparePhase(job, prepared));
    if (proceed()) {
      report = await phase(Phase.PHASE_EXECUTE, "executeMs", () => executePhase(job, prepared, log));
      collected = await phase(Phase.PHASE_COLLECT, "collectMs", () => collectPhase(job, prepared, ctx.config, ctx.resultsDir));
    }
  } catch (error) {
    log.error({ err: error, phase: phaseName(job.phase) }, "session failed");
    const first = job.terminate({
      reason: TerminationReason.TERMINATION_REASON_WORKER_ERROR,
      note: `${Phase[job.phase]}: ${errorText(error)}`,
    });
    // The job already had its cause (the command exited, a limit, a cancel): what failed goes into the message.
    if (!first) lateFailures.push(lateFailure(job.phase, errorText(error)));
  } finally {
    await phase(Phase.PHASE_DESTROY, "destroyMs", () => destroyPhase(sandbox, log));
  }
  const result = buildResult(job, {
    workerId: ctx.config.worker.id,
    isolation: sandbox?.isolationLabel ?? ctx.driver.isolation,
    unenforcedLimits: sandbox?.unenforcedLimits ?? [],
    ...(report && { report }),
    ...(collected && { collected }),
    lateFailures,
  });
  // The session manager logs the job's end, for every job, with its result.
  await ctx.journal.complete(job, result);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
