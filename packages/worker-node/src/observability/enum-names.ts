import { JobState, Phase, TerminationReason } from "@opencode-worker/shared";

/**
 * The names logs and metric labels use for the contract's enums: "timed_out", not 5 (a number means
 * nothing to a reader of logs) nor "JOB_STATE_TIMED_OUT" (the prefix only repeats the field's name).
 */
export const stateName = (state: JobState): string => shortName(JobState[state], "JOB_STATE_", state);
export const reasonName = (reason: TerminationReason): string => shortName(TerminationReason[reason], "TERMINATION_REASON_", reason);
export const phaseName = (phase: Phase): string => shortName(Phase[phase], "PHASE_", phase);

/** A value outside the enum (from a newer contract) keeps its number rather than vanishing. */
function shortName(name: string | undefined, prefix: string, value: number): string {
  return name === undefined ? String(value) : name.replace(prefix, "").toLowerCase();
}
