import { posix as path } from "node:path";
import type { Readable } from "node:stream";
import { OutputStream, TerminationReason } from "@opencode-worker/shared";
import type { LimitBreach, PreparedSandbox, SandboxProcess } from "../../sandbox/driver.js";
import { buildJobEnv } from "../../security/env-filter.js";
import type { Job } from "../job.js";

/** How long a job told to stop (timeout, cancel, output limit) gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 1000;
/** Usage and limit breaches are polled this often; every RESOURCE_EVENT_EVERY-th poll becomes an event. */
const POLL_MS = 250;
const RESOURCE_EVENT_EVERY = 4;

const BREACH_REASONS: Record<LimitBreach["limit"], TerminationReason> = {
  memory: TerminationReason.TERMINATION_REASON_MEMORY_LIMIT,
  pids: TerminationReason.TERMINATION_REASON_PIDS_LIMIT,
  disk: TerminationReason.TERMINATION_REASON_DISK_LIMIT,
};

export interface ExecutionReport {
  exitCode?: number;
  signal?: string;
  stdoutTotalBytes: number;
  stderrTotalBytes: number;
  processesReaped: number;
}

/**
 * EXECUTE: runs the command, streams its output as events, and enforces what the worker itself
 * watches (wall and idle timeouts, the output cap, cancel) while the driver enforces the kernel's
 * limits. Returns once the whole process tree is dead and every output byte has been read.
 */
export async function executePhase(job: Job, sandbox: PreparedSandbox): Promise<ExecutionReport> {
  const { limits } = job.spec;
  const env = buildJobEnv(job.spec.env, {
    workDir: sandbox.jobWorkDir,
    outputDir: sandbox.jobOutputDir,
    homeDir: sandbox.jobHomeDir,
    tmpDir: sandbox.jobTmpDir,
  });
  const proc = sandbox.exec({
    argv: job.spec.argv,
    env,
    cwd: path.join(sandbox.jobWorkDir, job.spec.cwd),
    stdin: job.spec.stdin,
  });

  // One terminate function: whoever asks first starts the TERM -> KILL escalation, later askers share it.
  let killing: Promise<number> | undefined;
  const killTree = (graceMs: number): Promise<number> => (killing ??= proc.killTree(graceMs));
  const stopListening = job.onTerminate(() => void killTree(KILL_GRACE_MS));

  const output = pumpOutput(job, proc);
  const wallTimer = setTimeout(() => job.terminate({ reason: TerminationReason.TERMINATION_REASON_TIMEOUT }), limits.timeoutMs);
  const stopPolling = pollUsageAndBreaches(job, proc);
  try {
    const exit = await proc.exited;
    // It ended by itself unless something stopped it already: no timer may claim otherwise now.
    clearTimeout(wallTimer);
    output.stop();
    // The main process is gone; anything it left running (daemons, background jobs) goes with it,
    // counted by whoever saw it alive: the kill here, or the driver at the moment of the exit.
    const processesReaped = Math.max(await killTree(0), exit.leftBehind ?? 0);
    await stopPolling();
    const breach = await proc.limitBreach();
    if (breach) job.terminate({ reason: BREACH_REASONS[breach.limit], observed: breach.observed });
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
    clearTimeout(wallTimer);
    output.stop();
    stopListening();
  }
}

/**
 * Reads stdout and stderr into output events with their byte offsets. The output cap counts both
 * streams together; bytes past it are counted but not published. A congested subscriber pauses the
 * pipes (backpressure reaches the job); the idle timer does not run while the worker is the one waiting.
 */
function pumpOutput(job: Job, proc: SandboxProcess) {
  const { maxOutputBytes, idleTimeoutMs } = job.spec.limits;
  const totals = { [OutputStream.OUTPUT_STREAM_STDOUT]: 0, [OutputStream.OUTPUT_STREAM_STDERR]: 0 };
  let published = 0;
  let paused = false;
  const streams = [proc.stdout, proc.stderr];

  const idleTimer =
    idleTimeoutMs > 0
      ? setTimeout(function onIdle() {
          if (paused) idleTimer?.refresh();
          else job.terminate({ reason: TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT });
        }, idleTimeoutMs)
      : undefined;

  const resumeWhenDrained = (): void => {
    paused = true;
    for (const stream of streams) stream.pause();
    void job.log.whenDrained().then(() => {
      paused = false;
      idleTimer?.refresh();
      for (const stream of streams) stream.resume();
    });
  };

  const onData = (stream: OutputStream.OUTPUT_STREAM_STDOUT | OutputStream.OUTPUT_STREAM_STDERR) => (chunk: Buffer) => {
    idleTimer?.refresh();
    const offset = totals[stream];
    totals[stream] += chunk.length;
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
  wire(proc.stdout, onData(OutputStream.OUTPUT_STREAM_STDOUT));
  wire(proc.stderr, onData(OutputStream.OUTPUT_STREAM_STDERR));

  return {
    totals: () => ({
      stdoutTotalBytes: totals[OutputStream.OUTPUT_STREAM_STDOUT],
      stderrTotalBytes: totals[OutputStream.OUTPUT_STREAM_STDERR],
    }),
    stop: () => clearTimeout(idleTimer),
  };
}

function wire(stream: Readable, onData: (chunk: Buffer) => void): void {
  stream.on("data", onData);
  // A pipe error (EPIPE, EIO) ends the stream; the exit status still tells what happened.
  stream.on("error", () => {});
}

/**
 * Polls the tree's usage (peak memory, cpu time) and the driver's limit breaches. A breach the
 * driver reports has already killed the tree; recording it first makes it the job's reason.
 * Returns a function that stops polling and waits for a poll in flight.
 */
function pollUsageAndBreaches(job: Job, proc: SandboxProcess): () => Promise<void> {
  let polls = 0;
  let inFlight: Promise<void> | undefined;
  const poll = async (): Promise<void> => {
    const breach = await proc.limitBreach();
    if (breach) job.terminate({ reason: BREACH_REASONS[breach.limit], observed: breach.observed });
    job.usage = await proc.usage();
    polls += 1;
    if (polls % RESOURCE_EVENT_EVERY === 0 && !job.log.isClosed) {
      job.log.emit({ $case: "resourceSample", value: { usage: { ...job.usage } } });
    }
  };
  const timer = setInterval(() => {
    // On a loaded machine a poll may outlast the period: skip a beat rather than stack polls.
    inFlight ??= poll()
      .catch(() => {})
      .finally(() => (inFlight = undefined));
  }, POLL_MS);
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
