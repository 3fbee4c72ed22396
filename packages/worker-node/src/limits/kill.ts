import type { SandboxProcess } from "../sandbox/driver.js";

/** How long a job told to stop (timeout, cancel, output limit) gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1000;

/** The one way to end a job's process tree; both resolve to the number of processes killed. */
export interface TreeKiller {
  /** Asks the tree to stop: SIGTERM, then SIGKILL after KILL_GRACE_MS. */
  stop(): Promise<number>;
  /** Kills what is left at once: the main process has exited, nothing is waited for. */
  reap(): Promise<number>;
}

/**
 * One TERM -> KILL escalation per process: whoever asks first starts it with their grace, later
 * askers share it, so a cancel and a timeout racing each other never signal the tree twice.
 */
export function treeKiller(proc: Pick<SandboxProcess, "killTree">): TreeKiller {
  let killing: Promise<number> | undefined;
  const killTree = (graceMs: number): Promise<number> => (killing ??= proc.killTree(graceMs));
  return { stop: () => killTree(KILL_GRACE_MS), reap: () => killTree(0) };
}
