import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createBwrapDriver, type BwrapDriver } from "../../../src/sandbox/bwrap/driver.js";
import { sessionCgroupName } from "../../../src/sandbox/bwrap/session-cgroup-name.js";
import { readProcs } from "../../../src/sandbox/cgroup/files.js";
import type { PreparedSandbox } from "../../../src/sandbox/driver.js";
import { readMountInfo } from "../../../src/sandbox/bwrap/mounts/mountinfo.js";
import { pidsWithUid, readProcStat } from "../../../src/sandbox/proc-scan.js";
import { describeWithPrerequisites, sandboxProblems, waitForFiles } from "../../support/conditions.js";
import {
  leftovers,
  readStream,
  removeTestParents,
  runScript,
  tempBaseDir,
  testCgroupParent,
  testLimits,
} from "../../support/sandbox-driver.js";

// Lifecycle: daemons, self-stopping and self-killing jobs, TERM then KILL, crash recovery.

/** Processes in every hierarchy of a session's cgroup. */
async function cgroupProcs(driver: BwrapDriver, box: PreparedSandbox): Promise<number[]> {
  const name = sessionCgroupName(box.sessionDir);
  const lists = await Promise.all((driver.cgroups?.parents ?? []).map((p) => readProcs(join(p, name))));
  return lists.flat();
}

/** A setsid double-fork daemon with a child; it writes tmp/daemon once both run. */
const DAEMON = "(setsid sh -c 'sleep 300 & sleep 300 & echo > ../tmp/daemon; wait' </dev/null >/dev/null 2>&1 &)";
/** The job's own marker, written once its traps and children are in place. */
const READY = "echo > ../tmp/ready";
const markers = (box: PreparedSandbox, ...names: string[]) => waitForFiles(names.map((n) => join(box.jobTmpDir, n)));

describeWithPrerequisites("bwrap driver: lifecycle", sandboxProblems(), () => {
  let driver: BwrapDriver;
  let baseDir: string;
  const parent = testCgroupParent("life");
  const usedUids = new Set<number>();

  beforeAll(async () => {
    baseDir = tempBaseDir("life");
    ({ driver } = await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 230_000, cgroupParent: parent }));
  });

  afterEach(async () => {
    for (const uid of usedUids) expect(await leftovers(driver, baseDir, uid)).toEqual([]);
    usedUids.clear();
  });

  afterAll(() => removeTestParents(driver, baseDir));

  const run = async (script: string, options?: Parameters<typeof runScript>[3]) => {
    const result = await runScript(driver, baseDir, script, options);
    if (result.box.owner) usedUids.add(result.box.owner.uid);
    return result;
  };

  it("a setsid double-fork daemon does not outlive a job that exits 0", async () => {
    // Both sleeps exec'd (a forked child is "sh" until then), counted once they are.
    const sleeps = "ps -e -o comm= | grep -c '^sleep$'";
    const r = await run(`${DAEMON}; while [ "$(${sleeps})" -lt 2 ]; do sleep 0.01; done; ${sleeps}; exit 0`, {
      keep: true,
    });
    try {
      expect(r.exit).toMatchObject({ exitCode: 0, signal: null });
      expect(Number(r.stdout.trim())).toBe(2);
      // Counted by the launcher when the job ended, before its pid namespace took them down.
      expect(r.exit.leftBehind).toBeGreaterThanOrEqual(2);
      // Before destroy: the cgroup is empty and nothing runs as the slot uid.
      expect(await cgroupProcs(driver, r.box)).toEqual([]);
      expect(pidsWithUid(r.box.owner?.uid ?? -1)).toEqual([]);
      expect(await r.job.killTree(0)).toBe(0);
    } finally {
      await r.box.destroy();
    }
  });

  it("killTree: TERM, then KILL after the grace, daemons included; returns the count", async () => {
    let killed = 0;
    const r = await run(`${DAEMON}; trap '' TERM; sleep 300 & ${READY}; sleep 300`, {
      during: async (job, box) => {
        await markers(box, "ready", "daemon");
        expect(pidsWithUid(box.owner?.uid ?? -1).length).toBeGreaterThanOrEqual(4);
        const started = Date.now();
        killed = await job.killTree(300);
        // The trap ignores TERM: only the KILL after the grace ends it.
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect(pidsWithUid(box.owner?.uid ?? -1)).toEqual([]);
        expect(await cgroupProcs(driver, box)).toEqual([]);
      },
    });
    expect(killed).toBeGreaterThanOrEqual(4);
    expect(r.exit.signal).toBe("SIGKILL");
  });

  it("killTree gives a job that handles TERM its grace period", async () => {
    const r = await run(`trap 'echo got-term; exit 7' TERM; sleep 300 & ${READY}; wait`, {
      during: async (job, box) => {
        await markers(box, "ready");
        await job.killTree(3000);
      },
    });
    expect(r.stdout).toBe("got-term\n");
    expect(r.exit).toMatchObject({ exitCode: 7, signal: null });
  });

  it("kill -STOP 0 inside: the job stops only itself, and killTree still ends it", async () => {
    const r = await run(`sleep 300 & ${READY}; kill -STOP 0; echo not-reached`, {
      during: async (job, box) => {
        await markers(box, "ready");
        let states: Array<string | undefined> = [];
        for (let i = 0; i < 100 && !states.includes("T"); i++) {
          await delay(10);
          states = (await cgroupProcs(driver, box)).map((pid) => readProcStat(pid)?.state);
        }
        expect(states).toContain("T");
        await job.killTree(200);
      },
    });
    expect(r.stdout).not.toContain("not-reached");
    // SIGCONT lets the stopped shell take the TERM; had it ignored TERM, the KILL would follow.
    expect(["SIGTERM", "SIGKILL"]).toContain(r.exit.signal);
  });

  it("kill -9 -1 inside kills only the job's own processes: other sessions and the host survive", async () => {
    const hostSleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    const other = await driver.prepare({
      sessionId: "bystander",
      sessionDir: join(baseDir, "session-bystander"),
      limits: testLimits(),
      network: "restricted",
    });
    try {
      const bystander = other.exec({
        argv: ["sh", "-c", "sleep 1.5; echo bystander-ok"],
        env: { PATH: "/usr/bin:/bin" },
        cwd: other.jobWorkDir,
        stdin: Buffer.alloc(0),
      });
      const bystanderOut = readStream(bystander.stdout);
      // kill(-1) signals everything the caller may signal except itself: both sleeps, inside only.
      const r = await run("sleep 300 & sleep 300 & sleep 0.2; kill -9 -1; sleep 0.1; echo left: $(ps -e -o comm= | grep -c sleep)");
      expect(r.stdout).toBe("left: 0\n");
      expect(r.exit).toMatchObject({ exitCode: 0, signal: null });
      expect(await bystander.exited).toMatchObject({ exitCode: 0, signal: null });
      expect(await bystanderOut).toBe("bystander-ok\n");
      expect(hostSleeper.exitCode).toBeNull();
      expect(readProcStat(hostSleeper.pid ?? -1)?.state).not.toBe("Z");
    } finally {
      hostSleeper.kill("SIGKILL");
      await other.destroy();
    }
  });

  it("the freezer kill path (v1 without cgroup.kill) also leaves nothing", async () => {
    const { driver: frozen } = await createBwrapDriver({
      bwrapPath: "/usr/bin/bwrap",
      uidBase: 230_000,
      cgroupParent: parent,
      killMethod: "freezer",
    });
    expect(frozen.cgroups?.killMethod).toBe("freezer");
    const r = await runScript(frozen, baseDir, `${DAEMON}; sleep 300 & ${READY}; sleep 300`, {
      during: async (job, box) => {
        await markers(box, "ready", "daemon");
        expect(await job.killTree(0)).toBeGreaterThanOrEqual(4);
        expect(pidsWithUid(box.owner?.uid ?? -1)).toEqual([]);
      },
    });
    if (r.box.owner) usedUids.add(r.box.owner.uid);
    expect(r.exit.signal).toBe("SIGKILL");
  });

  it("sweep after a crash: a forgotten session loses its processes, cgroups, mount and dir; others' live on", async () => {
    const box = await driver.prepare({
      sessionId: "crashed",
      sessionDir: join(baseDir, "session-crashed"),
      limits: testLimits(),
      network: "restricted",
    });
    const uid = box.owner?.uid ?? -1;
    usedUids.add(uid);
    // A live session of another worker (another base dir) on the same host must survive the sweep.
    const otherBase = tempBaseDir("life-other");
    const bystander = await driver.prepare({
      sessionId: "alive",
      sessionDir: join(otherBase, "session-alive"),
      limits: testLimits(),
      network: "restricted",
    });
    const bystanderJob = bystander.exec({
      argv: ["sh", "-c", "sleep 1; echo still-here"],
      env: { PATH: "/usr/bin:/bin" },
      cwd: bystander.jobWorkDir,
      stdin: Buffer.alloc(0),
    });
    const bystanderOut = readStream(bystanderJob.stdout);
    try {
      const job = box.exec({
        argv: ["sh", "-c", `${DAEMON}; ${READY}; sleep 300`],
        env: { PATH: "/usr/bin:/bin" },
        cwd: box.jobWorkDir,
        stdin: Buffer.alloc(0),
      });
      void readStream(job.stdout);
      void readStream(job.stderr);
      await markers(box, "ready", "daemon");
      expect(pidsWithUid(uid).length).toBeGreaterThanOrEqual(3);
      expect((await readMountInfo()).some((m) => m.mountPoint === box.sessionDir)).toBe(true);

      // A restarted worker: a new driver object that knows nothing about `box`.
      const { driver: restarted } = await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 230_000, cgroupParent: parent });
      const lines = await restarted.sweep(baseDir);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^removed cgroup ${sessionCgroupName(box.sessionDir)} \\(v1, killed [3-9] processes\\)$`)),
          `unmounted ${box.sessionDir}`,
          `removed session dir ${box.sessionDir}`,
        ]),
      );
      await job.exited;
      expect(pidsWithUid(uid)).toEqual([]);
      expect(existsSync(box.sessionDir)).toBe(false);
      expect(await restarted.cgroups?.list()).toEqual([sessionCgroupName(bystander.sessionDir)]);
      expect(readdirSync(baseDir)).toEqual([]);
      // The forgotten object's destroy is still safe afterwards.
      await box.destroy();
      expect(await bystanderJob.exited).toMatchObject({ exitCode: 0, signal: null });
      expect(await bystanderOut).toBe("still-here\n");
    } finally {
      await bystander.destroy();
      await rm(otherBase, { recursive: true, force: true });
    }
  });
});
