import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import type { JobSpec } from "@opencode-worker/master-client";
import { rm, writeFile, readFile } from "node:fs/promises";
import { eventually, type TestWorker } from "../harness.js";
import { describeSandbox } from "../support/conditions.js";
import { fixtureProgram } from "../support/fixture-program.js";
import { processesOfWorker, startSandboxWorker } from "./sandbox-harness.js";

const SECRET = `ocw-canary-secret-${process.pid}-${Date.now()}`;
const CANARY = `/etc/ocw-canary-${process.pid}`;
let t: TestWorker;

describeSandbox("nothing escapes the sandbox", () => {
  beforeAll(async () => {
    // The worker runs in this process: a secret in its environment must never reach a job.
    process.env.OCW_TEST_SECRET = SECRET;
    await writeFile(CANARY, "original\n", { mode: 0o644 });
    t = await startSandboxWorker();
  });
  afterAll(async () => {
    await t.stop();
    delete process.env.OCW_TEST_SECRET;
    await rm(CANARY, { force: true });
  });
  // Each test starts from a worker with no job left: what one test's jobs leave behind fails that test.
  afterEach(async () => {
    await eventually(() => processesOfWorker(t).length === 0);
  });

  /** Runs a hostile job and asserts nothing of the worker leaked into any output. */
  async function attempt(command: string, files?: JobSpec["files"]) {
    const job = await t.client.dispatch({ command, files, limits: { timeoutMs: 20_000 } });
    const result = await job.wait();
    expect(`${result.stdoutText}${result.stderrText}`).not.toContain(SECRET);
    return result;
  }

  it("runs as an unprivileged slot uid with no capabilities and no_new_privs", async () => {
    const result = await attempt("id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status");
    const [uid, ...caps] = result.stdoutText.trim().split("\n");
    expect(Number(uid)).toBeGreaterThanOrEqual(t.worker.config.security.sandboxUidBase);
    expect(caps).toEqual(["CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1"]);
  });

  it("cannot read the worker's environment, through env, /proc/1/environ or any /proc entry", async () => {
    const result = await attempt("env; cat /proc/1/environ; for f in /proc/[0-9]*/environ; do cat $f; done; ps -ef; echo done");
    expect(result.stdoutText).toContain("done");
    expect(result.stdoutText).not.toContain("OCW_TEST_SECRET");
  });

  it("cannot see the worker's processes (own pid namespace)", async () => {
    const result = await attempt("ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/1/cmdline | tr '\\0' ' '");
    const [count] = result.stdoutText.trim().split("\n");
    expect(Number(count)).toBeLessThan(10);
    expect(result.stdoutText).not.toContain("jest");
  });

  it("cannot read /etc/shadow or /root", async () => {
    const result = await attempt("cat /etc/shadow; echo shadow=$?; ls /root; echo root=$?");
    expect(result.stdoutText).toMatch(/shadow=[1-9]/);
    expect(result.stdoutText).toMatch(/root=[1-9]/);
    expect(result.stdoutText).not.toMatch(/root:[^:]*:\d+:/);
  });

  it("cannot write, remount or unmount the read-only system, and host canaries stay unchanged", async () => {
    const result = await attempt(
      `echo pwned > ${CANARY}; echo w=$?; mount -o remount,rw /etc; echo m=$?; umount /etc; echo u=$?; ` +
        `echo x > /usr/bin/ocw-planted; echo p=$?; cat ${CANARY}`,
    );
    for (const key of ["w", "m", "u", "p"]) expect(result.stdoutText).toMatch(new RegExp(`${key}=[1-9]`));
    expect(result.stdoutText).toContain("original");
    expect(await readFile(CANARY, "utf8")).toBe("original\n");
  });

  it("cannot write /proc/sys or the cgroup tree, nor nest namespaces with privileges", async () => {
    const result = await attempt(
      "echo 1 > /proc/sys/kernel/sysrq; echo s=$?; ls /sys/fs/cgroup >/dev/null 2>&1; echo 1 > /sys/fs/cgroup/memory/cgroup.procs; echo c=$?; " +
        "unshare -r true; echo n=$?; unshare -m true; echo m=$?",
    );
    for (const key of ["s", "c", "m"]) expect(result.stdoutText).toMatch(new RegExp(`${key}=[1-9]`));
  });

  it("cannot reach the worker's own gRPC port or any address with network RESTRICTED", async () => {
    const port = t.worker.port;
    const result = await attempt(
      `python3 connect.py 127.0.0.1 ${port}; python3 connect.py 169.254.169.254 80; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '`,
      { "connect.py": fixtureProgram("connect.py") },
    );
    expect(result.stdoutText).not.toContain("connected");
    expect(result.stdoutText.match(/refused/g)?.length).toBe(2);
    expect(result.stdoutText.trim().split("\n").at(-1)).toBe("lo");
  });

  it("cannot see or touch another running session", async () => {
    const other = await t.client.dispatch({ command: "echo other-secret > mine.txt; echo ready; sleep 30", limits: { timeoutMs: 30_000 } });
    try {
      let ready = false;
      other.onStdout(() => (ready = true));
      await eventually(() => ready);
      const path = `${t.baseDir}/sessions/session-${other.sessionId}`;
      expect(await t.sessionDirs()).toContain(`session-${other.sessionId}`);
      const result = await attempt(`ls ${path}; echo l=$?; cat ${path}/work/mine.txt; echo c=$?; ls ${t.baseDir}/sessions; echo s=$?`);
      expect(result.stdoutText).toMatch(/l=[1-9]/);
      expect(result.stdoutText).toMatch(/c=[1-9]/);
      expect(result.stdoutText).not.toContain("other-secret");
    } finally {
      await other.cancel();
    }
  });

  it("leaves no process of any slot uid behind, not even one the job daemonised", async () => {
    // Its own leftovers to clean up: a setsid double-fork daemon and a background job outlive the main process.
    const job = await t.client.dispatch({
      command: "(setsid sh -c 'sleep 300 &' &); sleep 300 & sleep 2",
      limits: { timeoutMs: 20_000 },
    });
    // Both sleeps and the main shell's `sleep 2` run as the slot uid before the job ends.
    await eventually(() => processesOfWorker(t).length >= 3);
    const result = await job.wait();
    expect([result.state, result.exitCode]).toEqual(["finished", 0]);
    await eventually(() => processesOfWorker(t).length === 0);
  });
});
