import { Phase } from "@opencode-worker/shared";
import type { CollectedArtifacts } from "../files/collect-artifacts.js";

/**
 * What a job lost after its termination cause was recorded, said in its result's message. The first
 * cause wins (the state and reason stay what the command did), so without this a failure after it,
 * such as a full artifact store or an error in COLLECT, would reach only the worker's log.
 */
export function withLosses(message: string, lateFailures: readonly string[], collected: CollectedArtifacts | undefined): string {
  const unstored = collected?.storeFailure;
  const losses = unstored ? [`${unstored.files} ${unstored.files === 1 ? "artifact" : "artifacts"} ${unstored.reason}`] : [];
  return [message, ...losses, ...lateFailures].join("; ");
}

/** How a phase that failed once the job's cause was recorded is told in its result. */
export function lateFailure(phase: Phase, why: string): string {
  return phase === Phase.PHASE_COLLECT ? `artifacts not collected: ${why}` : `${Phase[phase].replace("PHASE_", "")} failed: ${why}`;
}
