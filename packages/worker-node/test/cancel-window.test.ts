import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { JobFailedError, type JobResult } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "./harness.js";
import { describeSandbox } from "./support/conditions.js";
import { processesOfWorker, startSandboxWorker } from "./isolation/sandbox-harness.js";

/**
 * Cancel and the timeout must stop a job from the moment it exists, whatever phase it is in: queued,
 * INIT, PREPARE, the spawn, the first instructions of the sandbox chain before the process tree is
 * known (the sh wrapper before it joined its cgroup, bwrap before its first fork). The window is
 * walked delay by delay: a kill that lands in a gap lets `sleep 25` run to its natural end, and the
 * suite's own timeout catches that even where the duration check would not.
 */
const DELAYS_MS = [...Array.from({ length: 31 }, (_, i) => i), 40, 60, 80, 120];
/** Far below the command's own 25 s: a job that ran to its end was not stopped. */
const STOPPED_WITHIN_MS = 15_000;

const sleeper = { argv: ["sleep", "25"], limits: { timeoutMs: 2000 } };

async function resultOf(promise: Promise<JobResult>): Promise<JobResult> {
  const outcome = await promise.catch((error: unknown) => error);
  if (outcome instanceof JobFailedError) return outcome;
  if (outcome instanceof Error) throw outcome;
  return outcome as JobResult;
}

/** `leftovers` lists the job processes still alive, where they can be told apart (the sandbox's slot uids). */
function sweep(name: string, start: () => Promise<TestWorker>, leftovers?: (t: TestWorker) => number[]) {
  const expectNoneLeft = (t: TestWorker) => {
    if (leftovers) expect(leftovers(t)).toEqual([]);
  };
  let t: TestWorker;
  beforeAll(async () => {
    t = await start();
  }, 60_000);
  afterAll(() => t.stop());

  it(`${name}: a Cancel at any moment of the first ${DELAYS_MS.at(-1)} ms stops the job at once`, async () => {
    const missed: string[] = [];
    for (const delayMs of DELAYS_MS) {
      const job = await t.client.dispatch(sleeper);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const cancelled = await job.cancel(`window ${delayMs} ms`);
      const result = await resultOf(job.wait());
      if (!cancelled.cancelled || result.state !== "cancelled" || result.durationMs > STOPPED_WITHIN_MS) {
        missed.push(`${delayMs} ms: ${result.state} after ${result.durationMs} ms (${result.message})`);
      }
      expectNoneLeft(t);
    }
    expect(missed).toEqual([]);
  }, 120_000);

  it(`${name}: the timeout fires for a job nobody cancels`, async () => {
    const results = await Promise.all([1, 2].map(() => resultOf(t.client.run(sleeper))));
    for (const result of results) {
      expect(result.state).toBe("timed_out");
      expect(result.durationMs).toBeLessThan(STOPPED_WITHIN_MS);
    }
    expectNoneLeft(t);
  }, 120_000);

  it(`${name}: a job cancelled while queued never starts`, async () => {
    const busy = await t.client.dispatch({ argv: ["sleep", "25"] });
    const queued = await Promise.all(Array.from({ length: 4 }, () => t.client.dispatch(sleeper)));
    await Promise.all(queued.map((job) => job.cancel("queued")));
    for (const job of queued) {
      const result = await resultOf(job.wait());
      expect(result.state).toBe("cancelled");
      expect(result.phaseMs.executeMs).toBe(0);
    }
    await busy.cancel("done");
    expectNoneLeft(t);
  }, 60_000);
}

describe("cancel and timeout from the first millisecond (process driver)", () => {
  sweep("process driver", () =>
    startTestWorker({
      worker: { concurrency: 1 },
      security: { driver: "process", trusted_jobs: true, min_isolation: "none" },
    }),
  );
});

describeSandbox("cancel and timeout from the first millisecond (sandbox)", () => {
  sweep("sandbox", () => startSandboxWorker({ worker: { concurrency: 1 } }), processesOfWorker);
});
