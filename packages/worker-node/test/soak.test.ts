import { expect, it } from "@jest/globals";
import { growthBeyondBounds, runSoak } from "../../../bench/src/soak/soak.js";
import { describeSandbox } from "./support/conditions.js";

/*
 * The soak of `pnpm soak` at a size CI runs in about a minute: mixed jobs (trivial, streaming, failing,
 * cancelled, timed out, over the memory limit, streams dropped mid-job, clients gone mid-job) from
 * four callers with their own tokens, against the built worker in its own process, sandboxed.
 */
const JOBS = 300;

describeSandbox("soak", () => {
  it(`ends ${JOBS} mixed jobs from 4 callers as expected, each seen by its caller only, and leaves the worker as it was`, async () => {
    const report = await runSoak({ jobs: JOBS, concurrency: 8, callers: 4 });
    process.stdout.write(`soak: ${JSON.stringify(report)}\n`);
    expect(report.isolationMode).toBe("sandbox");
    expect(report.failures).toEqual([]);
    expect(report.jobs).toBe(JOBS);
    expect(Object.values(report.byKind).reduce((sum, n) => sum + n, 0)).toBe(JOBS + report.warmupJobs);
    expect(report.crossCallerChecks).toBe(JOBS + report.warmupJobs);
    expect(growthBeyondBounds(report)).toEqual([]);
    // Nothing of a job outlives it: the counts are those of an idle worker.
    expect(report.after).toMatchObject({ sessionDirs: 0, sessionMounts: 0, cgroups: 0, slotProcesses: 0 });
  }, 180_000);
});
