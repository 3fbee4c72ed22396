import { posix as path } from "node:path";
import type { Readable } from "node:stream";
import { OutputStream, TerminationReason, type AgentOutcome } from "@opencode-worker/shared";
import { KILL_GRACE_MS, treeKiller } from "../../limits/kill.js";
import type { Termination } from "../../limits/outcome.js";
import { startIdleTimer, startWallTimer } from "../../limits/timers.js";
import { pollUsageAndBreaches, readBreach } from "../../limits/usage-poll.js";
import type { Logger } from "../../logging/logger.js";
import { reasonName } from "../../observability/enum-names.js";
import type { PreparedSandbox, SandboxProcess } from "../../sandbox/driver.js";
import { buildJobEnv } from "../../security/env-filter.js";
import { startAgentExecution, type AgentExecution } from "../../agent/agent-execution.js";
import { countNewlines } from "../../util/count-newlines.js";
import type { Job } from "../job.js";

/** Causes the job's own exit records; every other one is the worker stopping it. */
const ENDED_BY_ITSELF = new Set([TerminationReason.TERMINATION_REASON_EXITED, TerminationReason.TERMINATION_REASON_SIGNALED]);

export interface ExecutionReport {
  /** An agent task's outcome: its final text, steps and model usage. */
  agent?: AgentOutcome;
  exitCode?: number;
  signal?: string;
  stdoutTotalBytes: number;
  stderrTotalBytes: number;
  /** Newline characters over all the bytes of the stream, published or not. */
  stdoutLines: number;
  stderrLines: number;
  processesReaped: number;
}

/**
 * EXECUTE: runs the command and streams its output as events, wiring in the limits the worker itself
 * watches (limits/: wall and idle timeouts, usage polling, the kill escalation; the output cap is the
 * pump's) while the driver enforces the kernel's. Returns once the whole process tree is dead and
 * every output byte has been read.
 */
export async function executePhase(job: Job, sandbox: PreparedSandbox, log: Logger): Promise<ExecutionReport> {
  const agent = job.spec.agentTask && (await startAgentExecution(job, sandbox, log));
  try {
    const report = await execute(job, sandbox, log, agent);
    return agent ? { ...report, agent: await agent.finish() } : report;
  } finally {
    // finish() is idempotent: here it only closes the gateway when the command never ran.
    await agent?.finish();
  }
}

async function execute(job: Job, sandbox: PreparedSandbox, log: Logger, agent: AgentExecution | undefined): Promise<ExecutionReport> {
  const { limits } = job.spec;
  const env = buildJobEnv(job.spec.env, {
    workDir: sandbox.jobWorkDir,
    outputDir: sandbox.jobOutputDir,
    homeDir: sandbox.jobHomeDir,
    tmpDir: sandbox.jobTmpDir,
  });
  const proc = sandbox.exec({
    argv: job.spec.argv,
    env: agent ? { ...env, ...agent.env } : env,
    cwd: path.join(sandbox.jobWorkDir, job.spec.cwd),
    stdin: job.spec.stdin,
    ...(agent && { readOnlyBinds: agent.readOnlyBinds }),
  });

  const killer = treeKiller(proc);
  // The worker ending a job (a limit, a timeout, a cancel) is worth an operator's attention: WARN.
  const stopTree = async ({ reason, note }: Termination): Promise<void> => {
    const started = performance.now();
    const processesKilled = await killer.stop();
    if (ENDED_BY_ITSELF.has(reason)) return;
    const ms = Math.round(performance.now() - started);
    // Still alive when the grace ran out: the tree got SIGKILL, not only SIGTERM.
    log.warn({ reason: reasonName(reason), note, processesKilled, ms, sigkill: ms >= KILL_GRACE_MS }, "job killed");
  };
  const stopListening = job.onTerminate((termination) => void stopTree(termination));
  const terminate = (termination: Termination) => job.terminate(termination);

  const output = pumpOutput(job, proc, agent?.onStdout);
  const stopWallTimer = startWallTimer(limits.timeoutMs, terminate);
  const stopPolling = pollUsageAndBreaches(proc, {
    terminate,
    onUsage: (usage, sample) => {
      job.usage = usage;
      if (sample && !job.log.isClosed) job.log.emit({ $case: "resourceSample", value: { usage: { ...job.usage } } });
    },
  });
  try {
    const exit = await proc.exited;
    // It ended by itself unless something stopped it already: no timer may claim otherwise now.
    stopWallTimer();
    output.stop();
    // The main process is gone; anything it left running (daemons, background jobs) goes with it,
    // counted by whoever saw it alive: the kill here, or the driver at the moment of the exit.
    const processesReaped = Math.max(await killer.reap(), exit.leftBehind ?? 0);
    await stopPolling();
    const breach = await readBreach(proc);
    if (breach) job.terminate(breach);
    if (exit.failure) job.terminate({ reason: TerminationReason.TERMINATION_REASON_WORKER_ERROR, note: exit.failure });
    job.usage = await proc.usage().catch(() => job.usage);
    if (exit.signal) job.terminate({ reason: TerminationReason.TERMINATION_REASON_SIGNALED });
    job.terminate({ reason: TerminationReason.TERMINATION_REASON_EXITED });
    return {
      ...(exit.exitCode !== null && { exitCode: exit.exitCode }),
      ...(exit.signal !== null && { signal: exit.signal }),
      ...output.totals(),
      processesReaped,
    };
  } finally {
    stopWallTimer();
    output.stop();
    stopListening();
  }
}

/**
 * Reads stdout and stderr into output events with their byte offsets. The output cap counts both
 * streams together; bytes past it are counted (with their newlines) but not published. A congested
 * subscriber pauses the pipes (backpressure reaches the job); the idle timer does not run while the
 * worker is the one waiting.
 */
function pumpOutput(job: Job, proc: SandboxProcess, onStdout?: (chunk: Buffer) => void) {
  const { maxOutputBytes, idleTimeoutMs } = job.spec.limits;
  const totals = { [OutputStream.OUTPUT_STREAM_STDOUT]: 0, [OutputStream.OUTPUT_STREAM_STDERR]: 0 };
  const lines = { [OutputStream.OUTPUT_STREAM_STDOUT]: 0, [OutputStream.OUTPUT_STREAM_STDERR]: 0 };
  let published = 0;
  let paused = false;
  const streams = [proc.stdout, proc.stderr];

  const idleTimer = startIdleTimer(
    idleTimeoutMs,
    () => paused,
    (termination) => job.terminate(termination),
  );

  const resumeWhenDrained = (): void => {
    paused = true;
    for (const stream of streams) stream.pause();
    void job.log.whenDrained().then(() => {
      paused = false;
      idleTimer.refresh();
      for (const stream of streams) stream.resume();
    });
  };

  const onData = (stream: OutputStream.OUTPUT_STREAM_STDOUT | OutputStream.OUTPUT_STREAM_STDERR) => (chunk: Buffer) => {
    idleTimer.refresh();
    const offset = totals[stream];
    totals[stream] += chunk.length;
    lines[stream] += countNewlines(chunk);
    const room = maxOutputBytes - published;
    const data = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    if (data.length > 0 && !job.log.isClosed) {
      published += data.length;
      job.log.emit({ $case: "output", value: { stream, data, offset } });
    }
    if (totals[OutputStream.OUTPUT_STREAM_STDOUT] + totals[OutputStream.OUTPUT_STREAM_STDERR] > maxOutputBytes) {
      job.terminate({ reason: TerminationReason.TERMINATION_REASON_OUTPUT_LIMIT });
    }
    if (job.log.congested && !paused) resumeWhenDrained();
  };
  const onStdoutData = onData(OutputStream.OUTPUT_STREAM_STDOUT);
  wire(
    proc.stdout,
    onStdout
      ? (chunk) => {
          onStdoutData(chunk);
          onStdout(chunk);
        }
      : onStdoutData,
  );
  wire(proc.stderr, onData(OutputStream.OUTPUT_STREAM_STDERR));

  return {
    totals: () => ({
      stdoutTotalBytes: totals[OutputStream.OUTPUT_STREAM_STDOUT],
      stderrTotalBytes: totals[OutputStream.OUTPUT_STREAM_STDERR],
      stdoutLines: lines[OutputStream.OUTPUT_STREAM_STDOUT],
      stderrLines: lines[OutputStream.OUTPUT_STREAM_STDERR],
    }),
    stop: () => idleTimer.stop(),
  };
}

function wire(stream: Readable, onData: (chunk: Buffer) => void): void {
  stream.on("data", onData);
  // A pipe error (EPIPE, EIO) ends the stream; the exit status still tells what happened.
  stream.on("error", () => {});
}
