import { expect } from "@jest/globals";
import { processesWithUidIn } from "../support/conditions.js";
import { startTestWorker, type TestWorker } from "../harness.js";

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
  return processesWithUidIn(uidBase, uidBase + SLOT_RANGE);
}
