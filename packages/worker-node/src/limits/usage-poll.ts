import { TerminationReason } from "@opencode-worker/shared";
import type { LimitBreach, SandboxProcess, SandboxUsage } from "../sandbox/driver.js";
import type { Termination } from "./outcome.js";

/** Usage and limit breaches are polled this often; every RESOURCE_EVENT_EVERY-th poll becomes an event. */
const POLL_MS = 250;
const RESOURCE_EVENT_EVERY = 4;

const BREACH_REASONS: Record<LimitBreach["limit"], TerminationReason> = {
  memory: TerminationReason.TERMINATION_REASON_MEMORY_LIMIT,
  pids: TerminationReason.TERMINATION_REASON_PIDS_LIMIT,
  disk: TerminationReason.TERMINATION_REASON_DISK_LIMIT,
};

/** The kernel limit the driver saw broken, as the job's termination, or undefined when none was. */
export async function readBreach(proc: Pick<SandboxProcess, "limitBreach">): Promise<Termination | undefined> {
  const breach = await proc.limitBreach();
  return breach && { reason: BREACH_REASONS[breach.limit], observed: breach.observed };
}

export interface UsageWatch {
  /** Records a breach; the driver has already killed the tree. */
  terminate(termination: Termination): void;
  /** The latest usage; `sample` marks the polls that become a resource event. */
  onUsage(usage: SandboxUsage, sample: boolean): void;
}

/**
 * Polls the tree's usage (peak memory, cpu time) and the driver's limit breaches. A breach the
 * driver reports has already killed the tree; recording it first makes it the job's reason.
 * Returns a function that stops polling and waits for a poll in flight.
 */
export function pollUsageAndBreaches(proc: SandboxProcess, watch: UsageWatch): () => Promise<void> {
  let polls = 0;
  let inFlight: Promise<void> | undefined;
  const poll = async (): Promise<void> => {
    const breach = await readBreach(proc);
    if (breach) watch.terminate(breach);
    const usage = await proc.usage();
    polls += 1;
    watch.onUsage(usage, polls % RESOURCE_EVENT_EVERY === 0);
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
