import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { buildSandboxCommand, systemMountArgs } from "./bwrap-args.js";
import { createBwrapDriver, type BwrapDriver } from "./bwrap-driver.js";
import { mountBackend, mountSessionTmpfs, unmountSession } from "./session-mount.js";
import { removeTestParents, sandboxSkipReason, tempBaseDir, testCgroupParent, testLimits } from "./testing.js";

// Start-up cost of a sandboxed job and where it goes. Opt-in: SANDBOX_BENCH=1 (SANDBOX_BENCH_N=50).
// Variants run round-robin, so load on this shared machine hits all of them alike.
const enabled = process.env.SANDBOX_BENCH === "1" && sandboxSkipReason() === undefined;
const suite = enabled ? describe : describe.skip;
const N = Number(process.env.SANDBOX_BENCH_N ?? 50);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
}

function run(file: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: {}, cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", resolve);
  });
}

suite("sandbox start-up cost", () => {
  let driver: BwrapDriver;
  let baseDir: string;
  let n = 0;
  beforeAll(async () => {
    baseDir = tempBaseDir("bench");
    ({ driver } = await createBwrapDriver({ bwrapPath: "/usr/bin/bwrap", uidBase: 260_000, cgroupParent: testCgroupParent("bench") }));
  });
  afterAll(() => removeTestParents(driver, baseDir));

  it("measures", async () => {
    const phases = { prepare: [] as number[], exec: [] as number[], destroy: [] as number[] };
    const driverRun = async (): Promise<void> => {
      const id = `bench-${++n}`;
      let t = performance.now();
      const box = await driver.prepare({ sessionId: id, sessionDir: join(baseDir, `session-${id}`), limits: testLimits(), network: "restricted" });
      phases.prepare.push(performance.now() - t);
      t = performance.now();
      const job = box.exec({ argv: ["/bin/true"], env: { PATH: "/usr/bin:/bin" }, cwd: box.jobWorkDir, stdin: Buffer.alloc(0) });
      job.stdout.resume();
      job.stderr.resume();
      expect((await job.exited).exitCode).toBe(0);
      phases.exec.push(performance.now() - t);
      t = performance.now();
      await box.destroy();
      phases.destroy.push(performance.now() - t);
    };

    // The exact chain the driver builds, on a standing session, with and without its pieces.
    const id = "bench-chain";
    const box = await driver.prepare({ sessionId: id, sessionDir: join(baseDir, `session-${id}`), limits: testLimits(), network: "restricted" });
    const cg = await driver.cgroups?.create("session-bench-cg", { memoryBytes: 1 << 28, pidsMax: 66, cpu: 1 });
    const chain = (procs: readonly string[]) =>
      buildSandboxCommand({
        tools: { sh: "/bin/sh", bwrap: "/usr/bin/bwrap", setpriv: "/usr/bin/setpriv", env: "/usr/bin/env" },
        systemMounts: systemMountArgs(),
        sessionDir: box.sessionDir,
        uid: box.owner?.uid ?? 0,
        gid: box.owner?.gid ?? 0,
        network: "restricted",
        cgroupProcsFiles: procs,
        rlimits: { nofile: 4096, fileSizeBytes: 1 << 26, nproc: 65 },
        argv: ["/bin/true"],
        env: { PATH: "/usr/bin:/bin" },
        cwd: box.jobWorkDir,
      });
    const full = chain(cg?.procsFiles ?? []);
    const noJoin = chain([]);
    const bwrapArgs = full.args.slice(3);
    const bwrapOnly = bwrapArgs.slice(0, bwrapArgs.indexOf("/usr/bin/setpriv"));
    const setprivOnly = bwrapArgs.slice(0, bwrapArgs.indexOf("/usr/bin/env"));
    const mnt = join(baseDir, "session-mnt");
    mkdirSync(mnt);

    const variants: Array<[string, () => Promise<unknown>]> = [
      ["spawn /bin/true from node", () => run("/bin/true", [])],
      ["bare: bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true", () =>
        run("/usr/bin/bwrap", ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"])],
      ["driver: prepare + exec + exit + destroy of /bin/true", driverRun],
      ["chain: bwrap (driver's args) /bin/true", () => run(bwrapOnly[0] as string, [...bwrapOnly.slice(1), "/bin/true"])],
      ["chain: + setpriv", () => run(setprivOnly[0] as string, [...setprivOnly.slice(1), "/bin/true"])],
      ["chain: + env(1)", () => run(bwrapArgs[0] as string, bwrapArgs.slice(1))],
      ["chain: + sh wrapper (rlimits, no cgroup join)", () => run(noJoin.file, noJoin.args)],
      ["chain: + cgroup join = the driver's exec", async () => {
        await run(full.file, full.args);
        await cg?.kill();
      }],
      ["tmpfs mount + umount via the perl helper", async () => {
        await mountSessionTmpfs(mnt, { sizeBytes: 1 << 26 });
        await unmountSession(mnt);
      }],
      ["tmpfs mount + umount via mount(8)/umount(8)", async () => {
        mountBackend.useHelper = false;
        try {
          await mountSessionTmpfs(mnt, { sizeBytes: 1 << 26 });
          await unmountSession(mnt);
        } finally {
          mountBackend.useHelper = true;
        }
      }],
      ["cgroups create + destroy (6 v1/unified hierarchies)", async () => {
        await (await driver.cgroups?.create(`session-cg${++n}`, { memoryBytes: 1 << 28, pidsMax: 66, cpu: 1 }))?.destroy();
      }],
    ];
    const times = variants.map(() => [] as number[]);
    for (let i = 0; i <= N; i++) {
      for (const [k, [, fn]] of variants.entries()) {
        const t = performance.now();
        await fn();
        if (i > 0) times[k]?.push(performance.now() - t);
      }
    }
    rmdirSync(mnt);
    await cg?.destroy();
    await box.destroy();
    const rows = variants.map(([label], k) => `${median(times[k] ?? []).toFixed(1).padStart(7)} ms  ${label}`);
    rows.splice(3, 0, ...(["prepare", "exec", "destroy"] as const).map((p) => `${median(phases[p].slice(1)).toFixed(1).padStart(7)} ms    driver ${p}`));
    console.info(`medians of ${N}:\n${rows.join("\n")}`);
  }, 600_000);
});
