import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { createBwrapDriver, type BwrapDriver } from "../../../src/sandbox/bwrap/driver.js";
import type { PreparedSandbox } from "../../../src/sandbox/driver.js";
import { describeWithPrerequisites, sandboxProblems } from "../../support/conditions.js";
import { leftovers, removeTestParents, runScript, tempBaseDir, testCgroupParent, testLimits } from "../../support/sandbox-driver.js";

// Escape attempts against the bwrap driver: each test runs a real job in a real sandbox and
// checks from the host that the defence held.

describeWithPrerequisites("bwrap driver: isolation", sandboxProblems(), () => {
  let driver: BwrapDriver;
  let baseDir: string;
  let canaryDir: string;
  const canaryText = "host canary, must not change\n";
  const secret = `ocw-worker-secret-${process.pid}-${Date.now()}`;
  const usedUids = new Set<number>();

  beforeAll(async () => {
    // Planted in the worker's environment before any session exists: no job may see it.
    process.env.OCW_TEST_WORKER_SECRET = secret;
    baseDir = tempBaseDir("iso");
    canaryDir = mkdtempSync("/var/tmp/ocw-canary-");
    writeFileSync(join(canaryDir, "canary.txt"), canaryText);
    ({ driver } = await createBwrapDriver({
      bwrapPath: "/usr/bin/bwrap",
      uidBase: 210_000,
      cgroupParent: testCgroupParent("iso"),
      readOnlyPaths: [canaryDir],
    }));
  });

  afterEach(async () => {
    for (const uid of usedUids) expect(await leftovers(driver, baseDir, uid)).toEqual([]);
    usedUids.clear();
  });

  afterAll(async () => {
    delete process.env.OCW_TEST_WORKER_SECRET;
    await removeTestParents(driver, baseDir);
    rmSync(canaryDir, { recursive: true, force: true });
  });

  const run = async (script: string, options?: Parameters<typeof runScript>[3]) => {
    const result = await runScript(driver, baseDir, script, options);
    if (result.box.owner) usedUids.add(result.box.owner.uid);
    return result;
  };

  it("runs the job as its slot uid with no capabilities and no_new_privs", async () => {
    const r = await run("id -u; id -g; id -G; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status");
    const uid = r.box.owner?.uid;
    expect(uid).toBeGreaterThanOrEqual(210_000);
    expect(uid).not.toBe(process.getuid?.());
    const [u, g, groups] = r.stdout.split("\n");
    expect(Number(u)).toBe(uid);
    expect(Number(g)).toBe(r.box.owner?.gid);
    expect(groups).toBe(String(r.box.owner?.gid));
    for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
      expect(r.stdout).toMatch(new RegExp(`${cap}:\\s+0000000000000000`));
    }
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.exit).toMatchObject({ exitCode: 0, signal: null });
    expect(r.box.isolationLabel).toMatch(/^sandbox \(bwrap, cgroup v/);
  });

  it("refuses to remount a read-only bind writable; the host canary stays unchanged", async () => {
    const canary = join(canaryDir, "canary.txt");
    const r = await run(
      [
        `mount -o remount,rw ${canaryDir} && echo REMOUNTED`,
        `mount -o remount,rw,bind ${canaryDir} && echo REMOUNTED`,
        "mount -o remount,rw /usr && echo REMOUNTED",
        `echo pwned > ${canary} && echo WROTE`,
        "touch /usr/ocw-pwned && echo WROTE",
        "mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED",
        "unshare -rm sh -c 'mount -o remount,rw /usr' 2>/dev/null && echo REMOUNTED",
        "echo 1 > /proc/sys/kernel/sysrq && echo WROTE",
        "ls /sys/fs/cgroup >/dev/null 2>&1 && echo SAW_CGROUPFS",
        "true",
      ].join("; "),
    );
    expect(r.stdout).not.toMatch(/REMOUNTED|WROTE|MOUNTED|SAW_CGROUPFS/);
    expect(readFileSync(canary, "utf8")).toBe(canaryText);
  });

  it("shows the job none of the worker's environment, not even through /proc/1/environ", async () => {
    let bwrapEnviron: string | undefined;
    const r = await run(
      "env; echo ---; cat /proc/self/environ; for f in /proc/[0-9]*/environ; do cat $f; done; for f in /proc/[0-9]*/cmdline; do cat $f; done; sleep 0.3",
      {
        env: { JOB_VAR: "job-value" },
        during: async (job) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          // bwrap is PID 1 inside (fact 2): its environment, read from the host, is empty but for
          // the PWD=/ the sh wrapper exports.
          bwrapEnviron = readFileSync(`/proc/${job.pid}/environ`, "utf8");
        },
      },
    );
    expect(bwrapEnviron?.split("\0").filter(Boolean)).toEqual(["PWD=/"]);
    expect(r.stdout).toContain("JOB_VAR=job-value");
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout).not.toContain("OCW_TEST_WORKER_SECRET");
    // Exactly the variables the spec gave, and what the shell adds itself (PWD).
    const names = (r.stdout.split("---")[0] ?? "")
      .trim()
      .split("\n")
      .map((l) => l.split("=")[0]);
    expect(new Set(names)).toEqual(new Set(["PATH", "HOME", "TMPDIR", "JOB_VAR", "PWD"]));
  });

  it("cannot read /etc/shadow or /root, and sees no host process", async () => {
    const r = await run("cat /etc/shadow && echo READ_SHADOW; ls /root && echo LISTED_ROOT; ls /home; ps -e -o pid=,user=,comm=");
    expect(r.stdout).not.toMatch(/READ_SHADOW|LISTED_ROOT/);
    expect(r.stderr).toMatch(/shadow: Permission denied/);
    const processes = r.stdout
      .trim()
      .split("\n")
      .filter((l) => /^\s*\d+/.test(l));
    // bwrap's init (pid 1), the shell, ps: nothing of the host.
    expect(processes.length).toBeLessThanOrEqual(4);
    expect(processes.some((l) => /node|jest/.test(l))).toBe(false);
  });

  it("cannot see or read another live session", async () => {
    const other: PreparedSandbox = await driver.prepare({
      sessionId: "other",
      sessionDir: join(baseDir, "session-other"),
      limits: testLimits(),
      network: "restricted",
    });
    try {
      const file = join(other.workDir, "secret.txt");
      writeFileSync(file, "other session's secret\n");
      chownSync(file, other.owner?.uid ?? 0, other.owner?.gid ?? 0);
      const r = await run(`ls ${baseDir}; cat ${file} && echo READ_OTHER; ls ${other.sessionDir} && echo LISTED_OTHER`);
      expect(r.box.owner?.uid).not.toBe(other.owner?.uid);
      expect(r.stdout).not.toMatch(/READ_OTHER|LISTED_OTHER|other session's secret|session-other/);
      expect(r.stdout.trim().split("\n")[0]).toBe(r.box.sessionDir.split("/").pop());
    } finally {
      await other.destroy();
    }
  });

  describe("network", () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        socket.on("error", () => {});
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const connect = () =>
      `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && head -c 5 <&3 && echo CONNECTED'; ip -o link 2>/dev/null | wc -l; true`;

    it("restricted: cannot reach a server on the host's loopback", async () => {
      const r = await run(connect(), { network: "restricted" });
      expect(r.stdout).not.toContain("CONNECTED");
    });

    it("the same probe, run on the host, does reach it (so the restricted test can fail)", async () => {
      const { stdout } = await promisify(execFile)("sh", ["-c", connect()]);
      expect(stdout).toContain("helloCONNECTED");
    });

    it("open, on a driver without its network tools, is refused: never run in the host's namespace", async () => {
      await expect(run(connect(), { network: "open" })).rejects.toThrow("network OPEN is not configured for this bwrap driver");
    });
  });

  it("lets the job read inputs and write outputs, but not rename its dirs or touch the worker's files", async () => {
    const r = await run(
      "cat input.txt; echo out > ../output/result.txt; cat -; echo tmp > /tmp/t && cat $TMPDIR/t; " +
        "mv ../output ../o2 2>/dev/null && echo RENAMED; ln -s /etc ../x 2>/dev/null && echo LINKED; " +
        "echo x > ../opencode.json 2>/dev/null && echo WROTE; cat ../opencode.json",
      {
        stdin: "from stdin\n",
        keep: true,
        before: async (box) => {
          const file = join(box.workDir, "input.txt");
          writeFileSync(file, "an input\n");
          chownSync(file, box.owner?.uid ?? 0, box.owner?.gid ?? 0);
          // What the worker writes beside the job's dirs: readable, not replaceable.
          writeFileSync(join(box.sessionDir, "opencode.json"), "{}\n", { mode: 0o644 });
        },
      },
    );
    try {
      expect(r.stdout).toBe("an input\nfrom stdin\ntmp\n{}\n");
      expect(readFileSync(join(r.box.outputDir, "result.txt"), "utf8")).toBe("out\n");
    } finally {
      await r.box.destroy();
    }
  });

  it("rejects environment names that execve would misread, before starting anything", async () => {
    const box = await driver.prepare({
      sessionId: "badenv",
      sessionDir: join(baseDir, "session-badenv"),
      limits: testLimits(),
      network: "restricted",
    });
    try {
      const exec =
        (env: Record<string, string>, argv = ["true"]) =>
        () =>
          box.exec({ argv, env, cwd: box.jobWorkDir, stdin: Buffer.alloc(0) });
      expect(exec({ "A=B": "x" })).toThrow(/env/);
      expect(exec({ A: "x\0y" })).toThrow(/NUL/);
    } finally {
      await box.destroy();
    }
  });

  it("destroy is idempotent and leaves no mount, cgroup or session dir", async () => {
    const r = await run("sleep 0.1", { keep: true });
    await Promise.all([r.box.destroy(), r.box.destroy()]);
    await r.box.destroy();
    expect(await leftovers(driver, baseDir, r.box.owner?.uid)).toEqual([]);
    expect(() => readFileSync(r.box.sessionDir)).toThrow(/ENOENT/);
  });
});
