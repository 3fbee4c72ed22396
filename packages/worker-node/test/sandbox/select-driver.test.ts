import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { loadConfig } from "../../src/config/index.js";
import type { WorkerConfig } from "../../src/config/worker-config.js";
import type { WorkerConfigOverrides } from "../../src/config/schema.js";
import { BwrapDriver, createBwrapDriver } from "../../src/sandbox/bwrap/driver.js";
import { ProcessDriver } from "../../src/sandbox/process/driver.js";
import { selectDriver } from "../../src/sandbox/select-driver.js";
import { requireSandboxPrerequisites, sandboxSkipReason } from "../support/conditions.js";
import { removeTestParents, tempBaseDir, testCgroupParent } from "../support/sandbox-driver.js";

const skip = sandboxSkipReason();
if (skip) console.warn(`skipping the real probe test: ${skip}`);

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
    probed ??= skip ? undefined : (await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 240_000, cgroupParent })).driver;
    await removeTestParents(probed, baseDir);
  });

  async function config(security: NonNullable<WorkerConfigOverrides["security"]>): Promise<WorkerConfig> {
    const { config } = await loadConfig({
      argv: [],
      env: {},
      cwd: baseDir,
      overrides: { session: { base_dir: baseDir }, security: { sandbox_uid_base: 240_000, ...security } },
    });
    return config;
  }

  it("bwrap_path=/nonexistent: mode none and a refusal that says how to get a sandbox", async () => {
    const { log, lines } = captureLog();
    const report = await selectDriver(await config({ bwrap_path: "/nonexistent" }), log, { cgroupParent });
    expect(report.mode).toBe("none");
    expect(report.driver).toBeUndefined();
    expect(report.refusal).toMatch(/bubblewrap not found at '\/nonexistent'/);
    expect(report.refusal).toMatch(/apt-get install bubblewrap/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, isolation: "none", refusal: report.refusal });
  });

  it("missing bubblewrap with trusted jobs and min_isolation=none: the process driver, said so", async () => {
    const { log } = captureLog();
    const report = await selectDriver(await config({ bwrap_path: "/nonexistent", trusted_jobs: true, min_isolation: "none" }), log, {
      cgroupParent,
    });
    expect(report.refusal).toBeUndefined();
    expect(report.mode).toBe("none");
    expect(report.driver).toBeInstanceOf(ProcessDriver);
    expect(report.details.join("\n")).toMatch(/process driver/);
  });

  it("trusted jobs alone do not lower min_isolation", async () => {
    const { log } = captureLog();
    const report = await selectDriver(await config({ bwrap_path: "/nonexistent", trusted_jobs: true }), log, { cgroupParent });
    expect(report.driver).toBeUndefined();
    expect(report.refusal).toMatch(/below security.min_isolation='sandbox'/);
  });

  it("driver=process needs trusted_jobs", async () => {
    const { log } = captureLog();
    const untrusted = await selectDriver(await config({ driver: "process", min_isolation: "none" }), log);
    expect(untrusted.driver).toBeUndefined();
    expect(untrusted.refusal).toMatch(/security.trusted_jobs=true/);
    const trusted = await selectDriver(await config({ driver: "process", trusted_jobs: true, min_isolation: "none" }), log);
    expect(trusted.driver).toBeInstanceOf(ProcessDriver);
    expect(trusted.refusal).toBeUndefined();
  });

  (skip ? it.skip : it)("without usable cgroups: reduced, refused under min_isolation=sandbox, accepted under reduced", async () => {
    const { log } = captureLog();
    const strict = await selectDriver(await config({}), log, { cgroupParent, useCgroups: false });
    expect(strict.mode).toBe("reduced");
    expect(strict.driver).toBeUndefined();
    expect(strict.refusal).toMatch(/isolation is 'reduced' \(no usable memory and pids cgroups\), below security.min_isolation='sandbox'/);
    expect(strict.refusal).toMatch(/Delegate=yes/);
    const lenient = await selectDriver(await config({ min_isolation: "reduced" }), log, { cgroupParent, useCgroups: false });
    expect(lenient.refusal).toBeUndefined();
    expect(lenient.driver).toBeInstanceOf(BwrapDriver);
    expect(lenient.driver?.isolation).toBe("reduced");
    expect(lenient.details.filter((d) => /^self-test .*: passed/.test(d))).toHaveLength(5);
  });

  (skip ? it.skip : it)("probes this machine: sandbox, with every self-test passed, quickly", async () => {
    requireSandboxPrerequisites();
    const { log, lines } = captureLog();
    const started = performance.now();
    const report = await selectDriver(await config({}), log, { cgroupParent });
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
