import { JobState, Phase } from "@opencode-worker/shared";

/**
 * The session lifecycle: INIT -> PREPARE -> EXECUTE -> COLLECT -> DESTROY. Any phase may jump to
 * DESTROY (a failure or a cancel), and DESTROY always runs. Nothing else is allowed, so a bug that
 * skips or repeats a phase fails loudly instead of leaving a session half-made.
 */
const ALLOWED_TRANSITIONS: ReadonlyMap<Phase, readonly Phase[]> = new Map([
  [Phase.PHASE_UNSPECIFIED, [Phase.PHASE_INIT, Phase.PHASE_DESTROY]],
  [Phase.PHASE_INIT, [Phase.PHASE_PREPARE, Phase.PHASE_DESTROY]],
  [Phase.PHASE_PREPARE, [Phase.PHASE_EXECUTE, Phase.PHASE_DESTROY]],
  [Phase.PHASE_EXECUTE, [Phase.PHASE_COLLECT, Phase.PHASE_DESTROY]],
  [Phase.PHASE_COLLECT, [Phase.PHASE_DESTROY]],
  [Phase.PHASE_DESTROY, []],
]);

/** The job state a phase shows while it runs. */
const STATE_OF_PHASE: ReadonlyMap<Phase, JobState> = new Map([
  [Phase.PHASE_INIT, JobState.JOB_STATE_PREPARING],
  [Phase.PHASE_PREPARE, JobState.JOB_STATE_PREPARING],
  [Phase.PHASE_EXECUTE, JobState.JOB_STATE_RUNNING],
  [Phase.PHASE_COLLECT, JobState.JOB_STATE_COLLECTING],
  [Phase.PHASE_DESTROY, JobState.JOB_STATE_COLLECTING],
]);

export function assertTransition(from: Phase, to: Phase): void {
  if (!ALLOWED_TRANSITIONS.get(from)?.includes(to)) {
    throw new Error(`illegal session phase transition ${Phase[from]} -> ${Phase[to]}`);
  }
}

export function stateOfPhase(phase: Phase): JobState {
  return STATE_OF_PHASE.get(phase) ?? JobState.JOB_STATE_QUEUED;
}

const FINAL_STATES = new Set([
  JobState.JOB_STATE_FINISHED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_TIMED_OUT,
  JobState.JOB_STATE_CANCELLED,
]);

export function isFinalState(state: JobState): boolean {
  return FINAL_STATES.has(state);
}
