import { setTimeout as delay } from "node:timers/promises";
import { trySignal } from "../proc-scan.js";
import { readProcs, readText, writeValue } from "./files.js";

/**
 * Emptying a cgroup for good. A process-group kill misses `setsid` daemons (threat model fact 3);
 * killing pids one by one races with forks. What does not race:
 * - cgroup.kill (v2, and the unified hierarchy of a hybrid v1 host): one write SIGKILLs every task;
 * - the freezer: freeze, SIGKILL every pid (frozen tasks cannot fork), thaw.
 * "signals" (kill every listed pid until none is left) is the last resort, bounded by pids.max.
 */

export async function waitEmpty(dirs: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    const counts = await Promise.all(dirs.map(async (d) => (await readProcs(d)).length));
    if (counts.every((c) => c === 0)) return true;
    if (Date.now() >= deadline) return false;
    await delay(wait);
  }
}

export async function killWithCgroupKill(dir: string): Promise<void> {
  await writeValue(`${dir}/cgroup.kill`, "1");
}

/** v1 freezer: freezer.state FROZEN / THAWED. */
export async function killWithV1Freezer(freezerDir: string): Promise<void> {
  const state = `${freezerDir}/freezer.state`;
  await writeValue(state, "FROZEN");
  try {
    // FREEZING until every task is stopped; bounded, a stuck D-state task must not hang us.
    for (let i = 0; i < 200 && (await readText(state))?.trim() !== "FROZEN"; i++) await delay(2);
    for (const pid of await readProcs(freezerDir)) trySignal(pid, "SIGKILL");
  } finally {
    // SIGKILL is delivered when a frozen task thaws.
    await writeValue(state, "THAWED");
  }
}

export async function killWithSignals(dir: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await readProcs(dir);
    if (pids.length === 0) return;
    for (const pid of pids) trySignal(pid, "SIGKILL");
    await delay(2);
  }
}
