import { describe, expect } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { startTestWorker, type TestWorker } from "../harness.js";

/**
 * Isolation tests need root and bubblewrap. Outside CI they are skipped with a note when either is
 * missing; under CI=true they always run, so a machine without a working sandbox fails loudly.
 */
const canSandbox = process.getuid?.() === 0 && ["/usr/bin/bwrap", "/bin/bwrap"].some((path) => existsSync(path));
export const describeSandbox = process.env.CI === "true" || canSandbox ? describe : describe.skip;
if (!canSandbox && process.env.CI !== "true") {
  console.warn("isolation tests skipped: they need root and bubblewrap (CI=true makes them mandatory)");
}

/** Slot uids a test worker may use: each gets its own range, so parallel test files never see each other's jobs. */
const SLOT_RANGE = 64;

/** A slot uid range of its own for one test worker. */
export function freeUidBase(): number {
  return 300_000 + SLOT_RANGE * Math.floor(Math.random() * 10_000);
}

/** A worker whose jobs run in the sandbox with the command guard off: these tests attack the boundary, not the guard. */
export async function startSandboxWorker(overrides: Parameters<typeof startTestWorker>[0] = {}): Promise<TestWorker> {
  const uidBase = freeUidBase();
  const t = await startTestWorker({
    ...overrides,
    governance: { command_policy: "off", ...overrides.governance },
    security: { sandbox_uid_base: uidBase, ...overrides.security },
  });
  expect(t.worker.isolation.mode).toBe("sandbox");
  return t;
}

/** Processes on this host running as one of this worker's slot uids: after a job ends there must be none. */
export function processesOfWorker(t: TestWorker): number[] {
  return processesInSlots(t.worker.config.security.sandboxUidBase);
}

/** Processes on this host running as a slot uid from `uidBase` on. */
export function processesInSlots(uidBase: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const uidLine = readFileSync(`/proc/${entry}/status`, "utf8").match(/^Uid:\s+(\d+)/m);
      const uid = Number(uidLine?.[1]);
      if (uid >= uidBase && uid < uidBase + SLOT_RANGE) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
