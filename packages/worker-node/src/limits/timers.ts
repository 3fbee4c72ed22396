import { TerminationReason } from "@opencode-worker/shared";
import type { Termination } from "./outcome.js";

/**
 * The wall-clock limit: ends the job `timeoutMs` after the start, whatever it is doing.
 * Returns a function that clears the timer.
 */
export function startWallTimer(timeoutMs: number, terminate: (termination: Termination) => void): () => void {
  const timer = setTimeout(() => terminate({ reason: TerminationReason.TERMINATION_REASON_TIMEOUT }), timeoutMs);
  return () => clearTimeout(timer);
}

export interface IdleTimer {
  /** Output arrived (or the worker stopped waiting): the idle period starts again. */
  refresh(): void;
  stop(): void;
}

/**
 * The idle limit: ends the job after `idleTimeoutMs` without output; 0 turns it off. It does not
 * fire while `isPaused()` (the worker, not the job, is the one waiting): it starts a new period instead.
 */
export function startIdleTimer(idleTimeoutMs: number, isPaused: () => boolean, terminate: (termination: Termination) => void): IdleTimer {
  const timer =
    idleTimeoutMs > 0
      ? setTimeout(function onIdle() {
          if (isPaused()) timer?.refresh();
          else terminate({ reason: TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT });
        }, idleTimeoutMs)
      : undefined;
  return { refresh: () => timer?.refresh(), stop: () => clearTimeout(timer) };
}
