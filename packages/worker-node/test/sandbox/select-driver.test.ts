import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { BwrapDriver, createBwrapDriver } from "../../src/sandbox/bwrap/driver.js";
import { ProcessDriver } from "../../src/sandbox/process/driver.js";
import { selectDriver, type SandboxSettings } from "../../src/sandbox/select-driver.js";
import { describeWithPrerequisites, sandboxProblems } from "../support/conditions.js";
import { removeTestParents, tempBaseDir, testCgroupParent } from "../support/sandbox-driver.js";

// Most cases choose without bubblewrap; the last two probe this machine's real sandbox.
const problems = sandboxProblems();

function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

describe("selectDriver", () => {
  let baseDir: string;
  const cgroupParent = testCgroupParent("sel");
  let probed: BwrapDriver | undefined;

  beforeAll(() => {
    baseDir = tempBaseDir("sel");
  });
  afterAll(async () => {
    // Even when the probe test failed before handing its driver over.
    probed ??=
      problems.length > 0 ? undefined : (await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 240_000, cgroupParent })).driver;
    await removeTestParents(probed, baseDir);
  });

  /** The config's defaults, with the test's own uid range and base dir. */
  function settings(overrides: Partial<SandboxSettings>): SandboxSettings {
    return {
      driver: "auto",
      trustedJobs: false,
      minIsolation: "sandbox",
      bwrapPath: "bwrap",
      sandboxUidBase: 240_000,
      baseDir,
      ...overrides,
    };
  }

  it("bwrap_path=/nonexistent: mode none and a refusal that says how to get a sandbox", async () => {
    const { log, lines } = captureLog();
    const report = await selectDriver(settings({ bwrapPath: "/nonexistent" }), log, { cgroupParent });
    expect(report.mode).toBe("none");
    expect(report.driver).toBeUndefined();
    expect(report.refusal).toMatch(/bubblewrap not found at '\/nonexistent'/);
    expect(report.refusal).toMatch(/apt-get install bubblewrap/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, isolation: "none", refusal: report.refusal });
  });

  it("missing bubblewrap with trusted jobs and min_isolation=none: the process driver, said so", async () => {
    const { log } = captureLog();
    const report = await selectDriver(settings({ bwrapPath: "/nonexistent", trustedJobs: true, minIsolation: "none" }), log, {
      cgroupParent,
    });
    expect(report.refusal).toBeUndefined();
    expect(report.mode).toBe("none");
    expect(report.driver).toBeInstanceOf(ProcessDriver);
    expect(report.details.join("\n")).toMatch(/process driver/);
  });

  it("trusted jobs alone do not lower min_isolation", async () => {
    const { log } = captureLog();
    const report = await selectDriver(settings({ bwrapPath: "/nonexistent", trustedJobs: true }), log, { cgroupParent });
    expect(report.driver).toBeUndefined();
    expect(report.refusal).toMatch(/below security.min_isolation='sandbox'/);
  });

  it("driver=process needs trusted_jobs", async () => {
    const { log } = captureLog();
    const untrusted = await selectDriver(settings({ driver: "process", minIsolation: "none" }), log);
    expect(untrusted.driver).toBeUndefined();
    expect(untrusted.refusal).toMatch(/security.trusted_jobs=true/);
    const trusted = await selectDriver(settings({ driver: "process", trustedJobs: true, minIsolation: "none" }), log);
    expect(trusted.driver).toBeInstanceOf(ProcessDriver);
    expect(trusted.refusal).toBeUndefined();
  });

  describeWithPrerequisites("selectDriver on this machine", problems, () => {
    it("without usable cgroups: reduced, refused under min_isolation=sandbox, accepted under reduced", async () => {
      const { log } = captureLog();
      const strict = await selectDriver(settings({}), log, { cgroupParent, useCgroups: false });
      expect(strict.mode).toBe("reduced");
      expect(strict.driver).toBeUndefined();
      expect(strict.refusal).toMatch(
        /isolation is 'reduced' \(no usable memory and pids cgroups\), below security.min_isolation='sandbox'/,
      );
      expect(strict.refusal).toMatch(/Delegate=yes/);
      const lenient = await selectDriver(settings({ minIsolation: "reduced" }), log, { cgroupParent, useCgroups: false });
      expect(lenient.refusal).toBeUndefined();
      expect(lenient.driver).toBeInstanceOf(BwrapDriver);
      expect(lenient.driver?.isolation).toBe("reduced");
      expect(lenient.details.filter((d) => /^self-test .*: passed/.test(d))).toHaveLength(5);
    });

    it("probes this machine: sandbox, with every self-test passed, quickly", async () => {
      const { log, lines } = captureLog();
      const started = performance.now();
      const report = await selectDriver(settings({}), log, { cgroupParent });
      const elapsed = performance.now() - started;
      console.info(`probe (${Math.round(elapsed)} ms):\n  ${report.details.join("\n  ")}`);
      expect(report.refusal).toBeUndefined();
      expect(report.mode).toBe("sandbox");
      expect(report.driver).toBeInstanceOf(BwrapDriver);
      probed = report.driver as BwrapDriver;
      expect(report.details.filter((d) => /^self-test .*: passed/.test(d))).toHaveLength(5);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 30, isolation: "sandbox", driver: "bwrap" });
      // The self-tests leave nothing behind.
      expect(await probed.cgroups?.list()).toEqual([]);
      expect(elapsed).toBeLessThan(3000);
    });
  });
});
