import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { describeWithPrerequisites, sandboxProblems } from "../../support/conditions.js";
import { fixtureProgram } from "../../support/fixture-program.js";
import { createBwrapDriver, type BwrapDriver } from "../../../src/sandbox/bwrap/driver.js";
import { leftovers, removeTestParents, runScript, tempBaseDir, testCgroupParent } from "../../support/sandbox-driver.js";

// Resource limits enforced by the kernel (cgroups, tmpfs, rlimits) and reported by limitBreach().
const MiB = 1024 * 1024;
// Threads and a descriptor loop need a real program; the sandbox shows it the host's /usr.
const python = "/usr/bin/python3";
const problems = [...sandboxProblems(), ...(existsSync(python) ? [] : [`${python} is not installed (apt-get install -y python3)`])];

describeWithPrerequisites("bwrap driver: limits", problems, () => {
  let driver: BwrapDriver;
  let baseDir: string;
  const usedUids = new Set<number>();

  beforeAll(async () => {
    baseDir = tempBaseDir("lim");
    ({ driver } = await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 220_000, cgroupParent: testCgroupParent("lim") }));
  });

  afterEach(async () => {
    for (const uid of usedUids) expect(await leftovers(driver, baseDir, uid)).toEqual([]);
    usedUids.clear();
    // Nothing of any session outside its tmpfs: the base dir is empty again.
    expect(readdirSync(baseDir)).toEqual([]);
    // The host still runs processes fine.
    expect(execFileSync("/bin/echo", ["host ok"]).toString()).toBe("host ok\n");
  });

  afterAll(() => removeTestParents(driver, baseDir));

  const run = async (script: string, options?: Parameters<typeof runScript>[3]) => {
    const result = await runScript(driver, baseDir, script, options);
    if (result.box.owner) usedUids.add(result.box.owner.uid);
    return result;
  };

  it("memory bomb over 64 MiB: OOM-killed, reported as a memory breach with the peak", async () => {
    // tail keeps a newline-free stream whole in memory.
    const r = await run("head -c 300000000 /dev/zero | tail > /dev/null; echo SURVIVED", {
      limits: { memoryBytes: 64 * MiB },
    });
    expect(r.breach?.limit).toBe("memory");
    expect(r.breach?.observed).toBeGreaterThan(48 * MiB);
    expect(r.breach?.observed).toBeLessThanOrEqual(64 * MiB);
    expect(r.usage.memoryPeakBytes).toBeLessThanOrEqual(64 * MiB);
  });

  it("fork bomb under max_pids 32: capped by pids.max, reported, the host unharmed", async () => {
    const r = await run("sh fork-bomb.sh 10", { files: { "fork-bomb.sh": fixtureProgram("fork-bomb.sh") }, limits: { maxPids: 32 } });
    expect(r.breach).toEqual({ limit: "pids", observed: expect.any(Number) });
    expect(r.breach?.observed).toBeGreaterThanOrEqual(32);
    expect(r.durationMs).toBeLessThan(8000);
  });

  it("threads count as pids too", async () => {
    const r = await run(
      `${python} -c "
import threading, time
for i in range(100):
    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
"`,
      { limits: { maxPids: 32 } },
    );
    expect(r.breach?.limit).toBe("pids");
  });

  it("disk fill by bytes: ENOSPC inside, /tmp counts too, breach disk, nothing outside", async () => {
    const r = await run(
      "head -c 6000000 /dev/zero > /tmp/a; echo a=$?; head -c 6000000 /dev/zero > ../output/b; echo b=$?; head -c 6000000 /dev/zero > c; echo c=$?",
      { limits: { maxDiskBytes: 16 * MiB, memoryBytes: 256 * MiB } },
    );
    expect(r.stdout).toContain("a=0");
    expect(r.stderr).toMatch(/No space left on device/);
    expect(r.breach?.limit).toBe("disk");
    expect(r.breach?.observed).toBeGreaterThan(15 * MiB);
  });

  it("disk fill by inodes: ENOSPC before 20,000 empty files, breach disk", async () => {
    const r = await run('i=0; while [ $i -lt 20000 ]; do true > "f$i" 2>/dev/null || break; i=$((i+1)); done', {
      limits: { maxDiskBytes: 16 * MiB },
      keep: true,
    });
    try {
      // Counted on disk: the driver may kill the job on the full disk before it could say how far it got.
      const made = readdirSync(r.box.workDir).length;
      expect(made).toBeGreaterThan(1000);
      expect(made).toBeLessThan(5000);
      expect(r.breach?.limit).toBe("disk");
    } finally {
      await r.box.destroy();
    }
  });

  it("one file above max_disk_bytes is stopped by RLIMIT_FSIZE even before the tmpfs fills", async () => {
    const r = await run("ulimit -f; ulimit -c", { limits: { maxDiskBytes: 16 * MiB } });
    expect(r.stdout).toBe(`${(16 * MiB) / 512}\n0\n`);
  });

  it("fd exhaustion stops at RLIMIT_NOFILE inside and cannot be raised", async () => {
    const r = await run(`ulimit -n; ulimit -Hn; ulimit -n 100000 2>/dev/null && echo RAISED; ${python} open-until-refused.py`, {
      files: { "open-until-refused.py": fixtureProgram("open-until-refused.py") },
    });
    expect(r.stdout).toMatch(/^4096\n4096\n/);
    expect(r.stdout).not.toContain("RAISED");
    expect(r.stdout).toMatch(/stopped at 409\d Too many open files/);
    expect(r.breach).toBeUndefined();
  });

  it("cpu 0.5: a spinning job gets about half a core", async () => {
    const r = await run("sh spin.sh 2", { files: { "spin.sh": fixtureProgram("spin.sh") }, limits: { cpu: 0.5 } });
    const ratio = r.usage.cpuTimeMs / r.durationMs;
    console.info(`cpu 0.5 spin: ${r.usage.cpuTimeMs} ms cpu over ${Math.round(r.durationMs)} ms wall (ratio ${ratio.toFixed(2)})`);
    expect(ratio).toBeGreaterThan(0.3);
    expect(ratio).toBeLessThan(0.7);
  });

  it("reports usage of the whole tree", async () => {
    const r = await run("sleep 1 & sleep 1 & sleep 1 & wait", {
      during: async (job) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const usage = await job.usage();
        expect(usage.pids).toBeGreaterThanOrEqual(4);
        expect(usage.memoryBytes).toBeGreaterThan(0);
      },
    });
    expect(r.exit).toMatchObject({ exitCode: 0, signal: null });
    expect(r.usage.memoryPeakBytes).toBeGreaterThan(0);
  });
});
