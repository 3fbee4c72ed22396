import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { readdirSync } from "node:fs";
import { describeWithPrerequisites, sandboxProblems } from "../../support/conditions.js";
import { fixtureProgram } from "../../support/fixture-program.js";
import { BwrapDriver } from "../../../src/sandbox/bwrap/driver.js";
import { discoverCgroupLayout } from "../../../src/sandbox/cgroup/discover.js";
import { openCgroupV2 } from "../../../src/sandbox/cgroup/v2.js";
import { pidsWithUid } from "../../../src/sandbox/proc-scan.js";
import { leftovers, removeTestParents, runScript, tempBaseDir, testCgroupParent } from "../../support/sandbox-driver.js";

// The "reduced" tier: bwrap namespaces and the slot uid, but no cgroups and no tmpfs (what a host
// without writable cgroups gives). Memory is sampled, pids fall to RLIMIT_NPROC, disk is not enforced.
const problems = sandboxProblems();
const { unified } = await discoverCgroupLayout();
const MiB = 1024 * 1024;

describeWithPrerequisites("bwrap driver without cgroups or tmpfs (reduced)", problems, () => {
  let driver: BwrapDriver;
  let baseDir: string;
  const usedUids = new Set<number>();

  beforeAll(() => {
    baseDir = tempBaseDir("red");
    driver = new BwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 250_000, storage: "directory", sampleIntervalMs: 50 });
  });
  afterEach(async () => {
    for (const uid of usedUids) expect(await leftovers(driver, baseDir, uid)).toEqual([]);
    usedUids.clear();
    expect(readdirSync(baseDir)).toEqual([]);
  });
  afterAll(() => removeTestParents(driver, baseDir));

  const run = async (script: string, options?: Parameters<typeof runScript>[3]) => {
    const result = await runScript(driver, baseDir, script, options);
    if (result.box.owner) usedUids.add(result.box.owner.uid);
    return result;
  };

  it("says what it cannot enforce", async () => {
    const r = await run("id -u");
    expect(driver.isolation).toBe("reduced");
    expect(r.box.isolationLabel).toMatch(/^reduced \(bwrap, no cgroups, no tmpfs, no seccomp, uid 25\d{4}\)$/);
    expect(r.box.unenforcedLimits.join("\n")).toMatch(/max_disk_bytes: not enforced/);
    expect(r.box.unenforcedLimits.join("\n")).toMatch(/memory: .*sampled/);
    expect(r.stdout.trim()).toBe(String(r.box.owner?.uid));
  });

  it("memory bomb: killed by sampling, reported as memory", async () => {
    const r = await run("head -c 400000000 /dev/zero | tail > /dev/null; echo SURVIVED", { limits: { memoryBytes: 64 * MiB } });
    expect(r.breach?.limit).toBe("memory");
    expect(r.stdout).not.toContain("SURVIVED");
  });

  it("many processes: capped at max_pids by RLIMIT_NPROC of the slot uid, then reported by sampling", async () => {
    let most = 0;
    // bash retries a failed fork (dash gives up and exits): the job sits at the cap long enough to be sampled.
    const r = await run("exec bash -c 'for i in $(seq 40); do sleep 5 & done; wait'", {
      limits: { maxPids: 16 },
      during: async (_job, box) => {
        for (let i = 0; i < 10; i++) {
          most = Math.max(most, pidsWithUid(box.owner?.uid ?? -1).length);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    });
    expect(most).toBeLessThanOrEqual(16);
    expect(r.breach?.limit).toBe("pids");
    expect(r.durationMs).toBeLessThan(4000);
  });

  it("deletes a session dir holding a tree deeper than PATH_MAX (no tmpfs to unmount: the tree itself goes)", async () => {
    // 600 levels of 21 bytes, a 12,600-byte path (the job cannot print it: getcwd needs to read the worker's 0700 base dir).
    const r = await run("python3 deep-tree.py 600", { files: { "deep-tree.py": fixtureProgram("deep-tree.py") } });
    expect([r.exit.exitCode, r.stderr]).toEqual([0, ""]);
    // afterEach: nothing is left in the base dir.
  });

  it("a setsid double-fork daemon still dies with the pid namespace", async () => {
    const r = await run("(setsid sh -c 'sleep 300 &' &); sleep 0.2; exit 0", { keep: true });
    try {
      expect(r.exit).toEqual({ exitCode: 0, signal: null, leftBehind: 1 });
      expect(pidsWithUid(r.box.owner?.uid ?? -1)).toEqual([]);
    } finally {
      await r.box.destroy();
    }
  });
});

const cgroupV2Problems = [...problems, ...(unified ? [] : ["no cgroup2 hierarchy is mounted"])];

describeWithPrerequisites("bwrap driver on a cgroup v2 tree without delegated controllers (reduced)", cgroupV2Problems, () => {
  let driver: BwrapDriver | undefined;
  let baseDir: string;

  beforeAll(async () => {
    baseDir = tempBaseDir("red2");
    if (!unified) return;
    const { manager } = await openCgroupV2(unified, testCgroupParent("red2"));
    driver = new BwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 250_000, cgroups: manager, sampleIntervalMs: 50 });
  });
  afterAll(() => removeTestParents(driver, baseDir));

  it("kills with cgroup.kill, samples memory, and says so", async () => {
    if (!driver) throw new Error("no driver: see the prerequisites above");
    const r = await runScript(driver, baseDir, "(setsid sh -c 'sleep 300 &' &); head -c 400000000 /dev/zero | tail > /dev/null", {
      limits: { memoryBytes: 64 * MiB },
    });
    expect(driver.isolation).toBe("reduced");
    expect(r.box.isolationLabel).toMatch(/^reduced \(bwrap, cgroup v2 \(.*\) \+ cgroup\.kill, tmpfs, no seccomp, uid \d+\)$/);
    expect(r.box.unenforcedLimits.join("\n")).toMatch(/memory: no memory cgroup controller; sampled/);
    expect(r.breach?.limit).toBe("memory");
    expect(await leftovers(driver, baseDir, r.box.owner?.uid)).toEqual([]);
  });
});
