import { JobState, TerminationReason, formatBytes, shellStatusOf } from "@opencode-worker/shared";
import type { ResolvedLimits } from "../sandbox/driver.js";

/** Why a job ended, with what was observed: the first cause recorded wins. */
export interface Termination {
  reason: TerminationReason;
  /** The measured value for a limit (peak bytes, pids), or the cancel reason. */
  observed?: number;
  note?: string;
}

export interface Outcome {
  state: JobState;
  message: string;
}

/** How the process ended, and whether it wrote to stderr (only then is it worth pointing at). */
interface Exit {
  exitCode?: number;
  signal?: string;
  stderrBytes?: number;
}

const TIMED_OUT = new Set([TerminationReason.TERMINATION_REASON_TIMEOUT, TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT]);

/**
 * The final state and the one-line message for a human: what happened and what to change,
 * naming the limit field to raise (users act on this line, so it must be precise).
 */
export function describeOutcome(termination: Termination, exit: Exit, limits: ResolvedLimits | undefined): Outcome {
  const { reason, observed, note } = termination;
  const state =
    reason === TerminationReason.TERMINATION_REASON_EXITED
      ? exit.exitCode === 0
        ? JobState.JOB_STATE_FINISHED
        : JobState.JOB_STATE_FAILED
      : reason === TerminationReason.TERMINATION_REASON_CANCELLED
        ? JobState.JOB_STATE_CANCELLED
        : TIMED_OUT.has(reason)
          ? JobState.JOB_STATE_TIMED_OUT
          : JobState.JOB_STATE_FAILED;
  return { state, message: messageFor(reason, exit, limits, observed, note) };
}

function messageFor(
  reason: TerminationReason,
  exit: Exit,
  limits: ResolvedLimits | undefined,
  observed: number | undefined,
  note: string | undefined,
): string {
  const peak = observed === undefined ? "" : `; peak ${formatBytes(observed)}`;
  switch (reason) {
    case TerminationReason.TERMINATION_REASON_EXITED:
      if (exit.exitCode === 0) return "exited with code 0";
      return `exited with code ${exit.exitCode}${exit.stderrBytes ? ": see stderr" : ""}`;
    case TerminationReason.TERMINATION_REASON_SIGNALED:
      return `killed by ${exit.signal ?? "a signal"}${shellStatus(exit.signal)} (not sent by the worker)`;
    case TerminationReason.TERMINATION_REASON_TIMEOUT:
      return `killed at timeout ${formatMs(limits?.timeoutMs)}: raise limits.timeout_ms`;
    case TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT:
      return `killed after ${formatMs(limits?.idleTimeoutMs)} without output: raise limits.idle_timeout_ms or print progress`;
    case TerminationReason.TERMINATION_REASON_MEMORY_LIMIT:
      return `killed at memory limit ${formatBytes(limits?.memoryBytes ?? 0)}${peak}: raise limits.memory_bytes`;
    case TerminationReason.TERMINATION_REASON_OUTPUT_LIMIT:
      return `stopped at output limit ${formatBytes(limits?.maxOutputBytes ?? 0)} (stdout+stderr): raise limits.max_output_bytes or write large output to $OPENCODE_OUTPUT_DIR`;
    case TerminationReason.TERMINATION_REASON_PIDS_LIMIT:
      return `killed at pids limit ${limits?.maxPids}: raise limits.max_pids`;
    case TerminationReason.TERMINATION_REASON_DISK_LIMIT:
      return `stopped at disk limit ${formatBytes(limits?.maxDiskBytes ?? 0)}: raise limits.max_disk_bytes or write less`;
    case TerminationReason.TERMINATION_REASON_CANCELLED:
      return note ? `cancelled: ${note}` : "cancelled";
    case TerminationReason.TERMINATION_REASON_POLICY_DENIED:
      return `denied by policy: ${note ?? "no reason given"}`;
    case TerminationReason.TERMINATION_REASON_MODEL_BUDGET:
      // The gateway's note names the budget spent (limits.model_max_requests or limits.model_max_tokens).
      return `stopped: ${note ?? "model budget spent"}: raise it or give the agent a smaller task`;
    default:
      return `worker error: ${note ?? "unknown"} (the job may not have run; see the worker's log)`;
  }
}

/** The status a shell would show for a signal: 128+n, for callers who think in `$?`. */
function shellStatus(signal: string | undefined): string {
  const status = signal === undefined ? undefined : shellStatusOf(signal);
  return status === undefined ? "" : `, shell status ${status}`;
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "?";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
