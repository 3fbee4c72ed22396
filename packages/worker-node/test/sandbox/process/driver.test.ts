import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isLive, readProcStat } from "../../../src/sandbox/proc-scan.js";
import { ProcessDriver } from "../../../src/sandbox/process/driver.js";
import { waitForFiles } from "../../support/conditions.js";
import { runScript, tempBaseDir } from "../../support/sandbox-driver.js";

// The process driver needs neither root nor bubblewrap: these tests always run.
const MiB = 1024 * 1024;

function alive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && isLive(stat);
}

describe("process driver", () => {
  let baseDir: string;
  const driver = new ProcessDriver({ sampleIntervalMs: 50 });
  const secret = `ocw-process-secret-${process.pid}`;

  beforeAll(() => {
    process.env.OCW_TEST_WORKER_SECRET = secret;
    baseDir = tempBaseDir("proc");
  });
  afterAll(() => {
    delete process.env.OCW_TEST_WORKER_SECRET;
    rmSync(baseDir, { recursive: true, force: true });
  });

  it("runs with exactly the given environment, in its own process group, and says it is unsandboxed", async () => {
    const r = await runScript(driver, baseDir, "env; ps -o pid=,pgid= -p $$; cat; pwd; exit 4", {
      env: { JOB_VAR: "x" },
      stdin: "in\n",
      keep: true,
    });
    try {
      expect(r.stdout).toContain("JOB_VAR=x");
      expect(r.stdout).not.toContain(secret);
      const [pid, pgid] = (/^\s*(\d+)\s+(\d+)$/m.exec(r.stdout) ?? []).slice(1).map(Number);
      expect(pid).toBe(pgid);
      expect(r.stdout).toContain(`in\n${r.box.workDir}\n`);
      expect(r.exit).toEqual({ exitCode: 4, signal: null });
      expect(r.box.isolationLabel).toBe("none (trusted, unsandboxed)");
      expect(r.box.owner).toBeUndefined();
      expect(r.box.unenforcedLimits).toEqual(
        expect.arrayContaining(["max_disk_bytes: not enforced by the process driver", "cpu: not enforced (reported only)"]),
      );
      for (const d of ["work", "output", "home", "tmp"]) {
        expect(statSync(join(r.box.sessionDir, d)).mode & 0o777).toBe(0o700);
      }
    } finally {
      await r.box.destroy();
    }
    expect(existsSync(r.box.sessionDir)).toBe(false);
  });

  it("memory: kills the tree when sampled RSS passes memory_bytes and reports the peak", async () => {
    const r = await runScript(driver, baseDir, "head -c 400000000 /dev/zero | tail > /dev/null; echo SURVIVED", {
      limits: { memoryBytes: 64 * MiB },
    });
    expect(r.breach?.limit).toBe("memory");
    expect(r.breach?.observed).toBeGreaterThan(64 * MiB);
    expect(r.stdout).not.toContain("SURVIVED");
    expect(r.exit.signal).toBe("SIGKILL");
  });

  it("pids: kills the tree when more than max_pids processes are seen", async () => {
    const r = await runScript(driver, baseDir, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 30 & done; wait", {
      limits: { maxPids: 8 },
    });
    expect(r.breach?.limit).toBe("pids");
    expect(r.breach?.observed).toBeGreaterThan(8);
  });

  it("killTree: TERM to the group, then KILL, including a setsid double-fork daemon", async () => {
    let daemonPid = 0;
    const r = await runScript(
      driver,
      baseDir,
      "(setsid sh -c 'echo $$ > ../tmp/daemon.tmp && mv ../tmp/daemon.tmp ../tmp/daemon.pid; exec sleep 300' &); trap '' TERM; echo > ../tmp/ready; sleep 300",
      {
        during: async (job, box) => {
          await waitForFiles([join(box.jobTmpDir, "daemon.pid"), join(box.jobTmpDir, "ready")]);
          daemonPid = Number(readFileSync(join(box.jobTmpDir, "daemon.pid"), "utf8"));
          expect(readProcStat(daemonPid)?.session).toBe(daemonPid);
          expect(await job.killTree(200)).toBeGreaterThanOrEqual(2);
        },
      },
    );
    expect(daemonPid).toBeGreaterThan(0);
    expect(alive(daemonPid)).toBe(false);
    expect(r.exit.signal).toBe("SIGKILL");
  });

  it("kills what the main process left behind when it exits", async () => {
    const pidFile = join(baseDir, "bg.pid");
    const r = await runScript(driver, baseDir, `sleep 300 & echo $! > ${pidFile}; exit 0`);
    expect(r.exit).toEqual({ exitCode: 0, signal: null });
    const bg = Number(readFileSync(pidFile, "utf8"));
    rmSync(pidFile);
    await delay(50);
    expect(alive(bg)).toBe(false);
  });

  it("a daemon that escaped session, group and session dir is beyond it, but cannot hang exited", async () => {
    const pidFile = join(baseDir, "escaped.pid");
    const started = Date.now();
    const r = await runScript(driver, baseDir, `(cd / && setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' &); sleep 0.1; exit 0`);
    const escaped = Number(readFileSync(pidFile, "utf8"));
    rmSync(pidFile);
    // Whether a sample caught the daemon before its parent exited is a race: this driver cannot
    // promise to kill it (the bwrap driver's pid namespace can), only that it never hangs.
    if (alive(escaped)) process.kill(escaped, "SIGKILL");
    expect(r.exit).toEqual({ exitCode: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("sweep removes leftover session dirs and trees left mid-deletion, nothing else", async () => {
    // Its own base dir: earlier tests' discarded trees may still be deleting in the background.
    const crashed = tempBaseDir("proc-sweep");
    mkdirSync(join(crashed, "session-left"), { recursive: true });
    mkdirSync(join(crashed, ".trash-session-half-deleted", "work"), { recursive: true });
    mkdirSync(join(crashed, "not-a-session"), { recursive: true });
    expect((await driver.sweep(crashed)).sort()).toEqual([
      `removed session dir ${join(crashed, ".trash-session-half-deleted")}`,
      `removed session dir ${join(crashed, "session-left")}`,
    ]);
    expect(readdirSync(crashed)).toEqual(["not-a-session"]);
    rmSync(crashed, { recursive: true, force: true });
  });
});
