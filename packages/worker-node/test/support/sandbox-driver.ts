import { mkdtempSync } from "node:fs";
import { rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { BwrapDriver } from "../../src/sandbox/bwrap/driver.js";
import type {
  ExecSpec,
  LimitBreach,
  PreparedSandbox,
  ProcessExit,
  ResolvedLimits,
  SandboxDriver,
  SandboxProcess,
  SandboxUsage,
} from "../../src/sandbox/driver.js";
import { writeInputs } from "../../src/files/write-inputs.js";
import { readMountInfo } from "../../src/sandbox/bwrap/mounts/mountinfo.js";
import { pidsWithUid } from "../../src/sandbox/proc-scan.js";
import { unmountSession } from "../../src/sandbox/bwrap/mounts/session-mount.js";

/**
 * Support for the driver-level sandbox tests (not shipped: it lives under test/): run one script in a
 * fresh session, and list or remove what a test left behind.
 */

export function testLimits(overrides: Partial<ResolvedLimits> = {}): ResolvedLimits {
  return {
    cpu: 1,
    memoryBytes: 256 * 1024 * 1024,
    timeoutMs: 20_000,
    maxOutputBytes: 1024 * 1024,
    maxPids: 64,
    maxDiskBytes: 64 * 1024 * 1024,
    idleTimeoutMs: 0,
    modelMaxRequests: 1,
    modelMaxTokens: 1,
    ...overrides,
  };
}

/** A fresh 0700 base dir for one test file. */
export function tempBaseDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `ocw-${label}-`));
}

/** Everything a stream gave until it closed (a pipe the driver had to cut short counts as closed). */
export function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.once("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

export interface RunResult {
  box: PreparedSandbox;
  job: SandboxProcess;
  stdout: string;
  stderr: string;
  exit: ProcessExit;
  breach: LimitBreach | undefined;
  usage: SandboxUsage;
  durationMs: number;
}

let counter = 0;

export interface RunOptions {
  limits?: Partial<ResolvedLimits>;
  network?: "restricted" | "open";
  env?: Record<string, string>;
  stdin?: string;
  /** Input files (e.g. a `fixtureProgram`), written into the work dir as PREPARE writes a job's. */
  files?: Record<string, { content: string; mode: number }>;
  /** Called while the job runs (after exec, before exited). */
  during?: (job: SandboxProcess, box: PreparedSandbox) => Promise<void>;
  /** Poll limitBreach() this often while the job runs, as the lifecycle does. @default 50 */
  pollMs?: number;
  /** Keep the session (the caller destroys it). @default false */
  keep?: boolean;
  /** Called after prepare, before exec (e.g. write inputs). */
  before?: (box: PreparedSandbox) => Promise<void>;
  /** Kill the job after this long. @default 15000 */
  killAfterMs?: number;
}

/** prepare -> exec `sh -c script` -> read both streams -> exited -> limitBreach -> usage -> destroy. */
export async function runScript(driver: SandboxDriver, baseDir: string, script: string, options: RunOptions = {}): Promise<RunResult> {
  const id = `t${process.pid}-${++counter}`;
  const box = await driver.prepare({
    sessionId: id,
    sessionDir: join(baseDir, `session-${id}`),
    limits: testLimits(options.limits),
    network: options.network ?? "restricted",
  });
  try {
    const files = Object.entries(options.files ?? {}).map(([path, f]) => ({ path, content: Buffer.from(f.content), mode: f.mode }));
    await writeInputs(box.workDir, files, box.owner);
    await options.before?.(box);
    const started = performance.now();
    const exec: ExecSpec = {
      argv: ["/bin/sh", "-c", script],
      env: { PATH: "/usr/bin:/bin", HOME: box.jobHomeDir, TMPDIR: box.jobTmpDir, ...options.env },
      cwd: box.jobWorkDir,
      stdin: Buffer.from(options.stdin ?? ""),
    };
    const job = box.exec(exec);
    const stdout = readStream(job.stdout);
    const stderr = readStream(job.stderr);
    let done = false;
    const poller = (async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
        if (!done) await job.limitBreach();
      }
    })();
    const killer = setTimeout(() => void job.killTree(0), options.killAfterMs ?? 15_000);
    await options.during?.(job, box);
    const exit = await job.exited;
    done = true;
    clearTimeout(killer);
    await poller;
    const durationMs = performance.now() - started;
    const breach = await job.limitBreach();
    const usage = await job.usage();
    return { box, job, stdout: await stdout, stderr: await stderr, exit, breach, usage, durationMs };
  } finally {
    if (!options.keep) await box.destroy();
  }
}

/** What a test must leave behind: nothing under the slot uid, no mount under baseDir, no cgroup. */
export async function leftovers(driver: BwrapDriver, baseDir: string, uid?: number): Promise<string[]> {
  const found: string[] = [];
  if (uid !== undefined) {
    const pids = pidsWithUid(uid);
    if (pids.length > 0) found.push(`processes with uid ${uid}: ${pids.join(", ")}`);
  }
  for (const m of await readMountInfo()) {
    if (m.mountPoint.startsWith(`${baseDir}/`)) found.push(`mount ${m.mountPoint}`);
  }
  for (const name of (await driver.cgroups?.list()) ?? []) found.push(`cgroup ${name}`);
  return found;
}

/**
 * afterAll: whatever the tests left (a failed test may leave a live session): its cgroups under
 * the file's own parent, killed and removed, the parents themselves, mounts and the base dir.
 */
export async function removeTestParents(driver: BwrapDriver | undefined, baseDir: string): Promise<void> {
  const cgroups = driver?.cgroups;
  if (cgroups) {
    await cgroups.sweep();
    for (const parent of cgroups.parents) await rmdir(parent).catch(() => undefined);
  }
  for (const m of await readMountInfo()) {
    if (m.mountPoint.startsWith(`${baseDir}/`)) await unmountSession(m.mountPoint);
  }
  await rm(baseDir, { recursive: true, force: true });
}

/** A distinct cgroup parent per test file (files run in parallel). */
export function testCgroupParent(label: string): string {
  return `opencode-worker-test-${label}-${process.pid}`;
}
