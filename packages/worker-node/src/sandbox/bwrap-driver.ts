import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rmdir, statfs } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { WorkerError } from "../errors.js";
import { assertSandboxableSessionDir, buildSandboxCommand, systemMountArgs, type SandboxTools } from "./bwrap-args.js";
import { openCgroups, type CgroupManager, type KillMethod, type SessionCgroup } from "./cgroup/index.js";
import type {
  ExecSpec,
  LimitBreach,
  PreparedSandbox,
  ProcessExit,
  SandboxDriver,
  SandboxProcess,
  SandboxSessionSpec,
  SandboxUsage,
} from "./driver.js";
import { describeSeccompPolicy, seccompProgram } from "./seccomp/index.js";
import { SystemView, type SlotView } from "./system-view.js";
import { findLauncher, parseLauncherStatus, SECCOMP_FD, STATUS_FD, type LauncherStatus } from "./launcher.js";
import { delay, pidsWithUidIn, readProcUids, ticksToMs, trySignal, within } from "./proc-scan.js";
import { ProcessTree, type TreeSample } from "./process-tree.js";
import {
  assertSessionDir,
  createSubdirs,
  ensureBaseDir,
  listSessionDirs,
  removeTree,
  sessionPaths,
} from "./session-layout.js";
import { mountSessionTmpfs, sessionMountsUnder, unmountSession } from "./session-mount.js";
import { NoFreeSlotError, UidSlots, type UidSlot } from "./uid-slots.js";

/** bwrap's monitor, the pid namespace's init and the launcher's parent live in the session cgroup with the job. */
export const BWRAP_OVERHEAD_TASKS = 3;

export interface BwrapDriverOptions {
  /** Absolute path of bubblewrap (security.bwrap_path, resolved). */
  bwrapPath: string;
  /** security.sandbox_uid_base. */
  uidBase: number;
  /** The session cgroups; without them memory and pids fall back to sampling ("reduced"). */
  cgroups?: CgroupManager;
  /** "tmpfs" (a size- and inode-limited mount per session) or a plain directory (disk not enforced). @default tmpfs */
  storage?: "tmpfs" | "directory";
  /** Lock dir for the per-slot uids, shared by all workers on the host. @default /run/opencode-worker/uid-slots */
  slotLockDir?: string;
  /** Host paths the jobs may read in addition to /usr and /etc (e.g. a toolchain under /opt). @default [] */
  readOnlyPaths?: string[];
  /** RLIMIT_NOFILE for jobs. @default 4096 */
  nofile?: number;
  /** Sampling period when there are no cgroups. @default 250 */
  sampleIntervalMs?: number;
  /** A seccomp program (raw sock_filter array) bwrap installs before the launcher runs; none when undefined. */
  seccomp?: Buffer;
  /** Per-slot overlays of the system files (and the launcher's dir); without it the host's paths are bound. */
  systemView?: SystemView;
}

/** Options of the driver as the probe builds it: cgroups opened and the seccomp program compiled for it. */
export interface CreateBwrapDriverOptions extends Omit<BwrapDriverOptions, "cgroups" | "seccomp" | "systemView"> {
  /** session.base_dir: where the per-slot system view lives; without it the host's paths are bound. */
  baseDir?: string;
  /** The driver's cgroup, under the worker's own in each hierarchy. @default opencode-worker */
  cgroupParent?: string;
  /** false: run without cgroups (reduced). @default true */
  useCgroups?: boolean;
  killMethod?: "auto" | KillMethod;
}

/**
 * A session's cgroup name: `<tag of its base dir>-session-<id>`. Workers with different base dirs
 * (tests running in parallel, two workers on one host) then never sweep each other's sessions.
 */
export function sessionCgroupName(sessionDir: string): string {
  return `${baseDirTag(dirname(sessionDir))}-${basename(sessionDir)}`;
}

function baseDirTag(baseDir: string): string {
  return createHash("sha256").update(baseDir).digest("hex").slice(0, 8);
}

/** Opens the cgroups and builds the driver. `details` explains anything that degraded. */
export async function createBwrapDriver(
  options: CreateBwrapDriverOptions,
): Promise<{ driver: BwrapDriver; details: string[] }> {
  let cgroups: CgroupManager | undefined;
  const details: string[] = [];
  if (options.useCgroups !== false) {
    const opened = await openCgroups({ parentName: options.cgroupParent, killMethod: options.killMethod });
    cgroups = opened.manager;
    details.push(...opened.details);
  }
  let seccomp: Buffer | undefined;
  try {
    seccomp = seccompProgram();
    details.push(describeSeccompPolicy().summary);
  } catch (error) {
    details.push(`no seccomp filter: ${(error as Error).message}`);
  }
  let systemView: SystemView | undefined;
  if (options.baseDir !== undefined) {
    systemView = await SystemView.open({ baseDir: options.baseDir, paths: [...readOnlyBindSources(options.readOnlyPaths), dirname(findLauncher())] });
    details.push(systemView.description);
  }
  return { driver: new BwrapDriver({ ...options, cgroups, seccomp, systemView }), details };
}

/**
 * The `bwrap` driver: each session gets a slot uid/gid, a tmpfs limited in bytes and inodes,
 * a cgroup (memory, pids, cpu; killed as a whole), and a bubblewrap sandbox run as root without
 * a user namespace (pid, ipc, uts, cgroup and, unless the network is open, net namespaces;
 * read-only /usr and /etc, nothing else of the host) that drops to the slot uid with every
 * capability gone and no_new_privs before the job's first instruction.
 */
export class BwrapDriver implements SandboxDriver {
  readonly name = "bwrap";
  readonly isolation: "sandbox" | "reduced";
  readonly slots: UidSlots;
  readonly cgroups: CgroupManager | undefined;
  private readonly storage: "tmpfs" | "directory";
  private readonly tools: SandboxTools;
  private readonly systemMounts: string[];
  private readonly nofile: number;
  private readonly sampleIntervalMs: number;
  private readonly seccomp: Buffer | undefined;
  readonly systemView: SystemView | undefined;
  private readonly baseLabel: string;
  private readonly unenforced: string[] = [];

  constructor(options: BwrapDriverOptions) {
    this.cgroups = options.cgroups;
    this.storage = options.storage ?? "tmpfs";
    this.slots = new UidSlots({ base: options.uidBase, lockDir: options.slotLockDir });
    this.tools = { sh: "/bin/sh", bwrap: options.bwrapPath, launcher: findLauncher() };
    this.seccomp = options.seccomp;
    this.systemView = options.systemView;
    this.systemMounts = systemMountArgs(options.readOnlyPaths);
    this.nofile = options.nofile ?? 4096;
    this.sampleIntervalMs = options.sampleIntervalMs ?? 250;
    const cg = this.cgroups;
    if (!cg) {
      this.unenforced.push(
        "memory: no usable cgroup; sampled every few hundred ms and killed when over (best effort)",
        "max_pids: no pids cgroup; RLIMIT_NPROC of the slot uid only",
        "cpu: not enforced (no cpu cgroup; reported only)",
      );
    } else {
      if (!cg.enforced.memory) this.unenforced.push("memory: no memory cgroup controller; sampled (best effort)");
      if (!cg.enforced.pids) this.unenforced.push("max_pids: no pids cgroup controller; RLIMIT_NPROC only");
      if (!cg.enforced.cpu) this.unenforced.push("cpu: not enforced (no cpu cgroup controller; reported only)");
    }
    if (this.storage === "directory") {
      this.unenforced.push("max_disk_bytes: not enforced (no tmpfs); RLIMIT_FSIZE caps each file");
    }
    const strong = cg !== undefined && cg.enforced.memory && cg.enforced.pids && this.storage === "tmpfs" && this.seccomp !== undefined;
    this.isolation = strong ? "sandbox" : "reduced";
    this.baseLabel = `${this.isolation} (bwrap, ${cg ? cg.label : "no cgroups"}, ${this.storage === "tmpfs" ? "tmpfs" : "no tmpfs"}, ${this.seccomp ? "seccomp" : "no seccomp"}`;
  }

  async prepare(spec: SandboxSessionSpec): Promise<PreparedSandbox> {
    assertSessionDir(spec.sessionDir);
    assertSandboxableSessionDir(spec.sessionDir);
    const slot = await this.slots.acquire().catch((error: unknown) => {
      if (error instanceof NoFreeSlotError) {
        throw new WorkerError("RESOURCE_EXHAUSTED", `sandbox: ${error.message}`, { sessionId: spec.sessionId }, { cause: error });
      }
      throw error;
    });
    const owner = { uid: slot.uid, gid: slot.gid };
    let mounted = false;
    const storage = (async () => {
      ensureBaseDir(spec.sessionDir);
      // The session root is the worker's (0711): the job owns only the four subdirs.
      await mkdir(spec.sessionDir, { mode: 0o711 });
      if (this.storage === "tmpfs") {
        await mountSessionTmpfs(spec.sessionDir, { sizeBytes: spec.limits.maxDiskBytes });
        mounted = true;
      }
      createSubdirs(spec.sessionDir, owner);
    })();
    const cgroup = this.cgroups?.create(sessionCgroupName(spec.sessionDir), {
      memoryBytes: spec.limits.memoryBytes,
      pidsMax: spec.limits.maxPids + BWRAP_OVERHEAD_TASKS,
      cpu: spec.limits.cpu,
    });
    const view = this.systemView?.forSlot(slot.uid) ?? Promise.resolve({ system: [], devices: [] });
    const [storageResult, cgroupResult, viewResult] = await Promise.allSettled([storage, cgroup, view]);
    if (storageResult.status === "rejected" || cgroupResult?.status === "rejected" || viewResult.status === "rejected") {
      if (cgroupResult?.status === "fulfilled") await cgroupResult.value?.destroy().catch(() => undefined);
      if (mounted) await unmountSession(spec.sessionDir);
      await rmdir(spec.sessionDir).catch(() => undefined);
      await slot.release();
      const cause: unknown = [storageResult, cgroupResult, viewResult].find((r) => r?.status === "rejected")?.reason;
      throw new WorkerError("UNAVAILABLE", `sandbox: cannot prepare session ${spec.sessionId}: ${String(cause)}`, {
        sessionId: spec.sessionId,
      }, { cause });
    }
    return new BwrapSession(this, spec, slot, cgroupResult.status === "fulfilled" ? cgroupResult.value : undefined, mounted, viewResult.value);
  }

  /** @internal for BwrapSession */
  sessionConfig() {
    return {
      tools: this.tools,
      systemMounts: this.systemMounts,
      nofile: this.nofile,
      sampleIntervalMs: this.sampleIntervalMs,
      seccomp: this.seccomp,
      baseLabel: this.baseLabel,
      unenforced: this.unenforced,
      enforced: { memory: this.cgroups?.enforced.memory === true, pids: this.cgroups?.enforced.pids === true },
    };
  }

  /**
   * After a crash, before any job: kills what is left in this base dir's session cgroups and
   * under slot uids no live worker holds, unmounts and removes `session-*` under baseDir, and
   * frees stale uid locks.
   */
  async close(): Promise<void> {
    await this.systemView?.close();
  }

  async sweep(baseDir: string): Promise<string[]> {
    const lines: string[] = [];
    if (this.cgroups) lines.push(...(await this.cgroups.sweep(`${baseDirTag(baseDir)}-`)));
    const strays = [];
    for (const stray of pidsWithUidIn(this.slots.base, this.slots.base + this.slots.count)) {
      if (!(await this.slots.isHeld(stray.uid))) strays.push(stray);
    }
    for (const { pid } of strays) trySignal(pid, "SIGKILL");
    if (strays.length > 0) {
      lines.push(`killed ${strays.length} stray process(es) running as sandbox uids: ${strays.map((s) => `${s.pid}(uid ${s.uid})`).join(", ")}`);
    }
    for (const mount of await sessionMountsUnder(baseDir)) {
      lines.push(`${await unmountSession(mount)} ${mount}`);
    }
    for (const dir of await listSessionDirs(baseDir)) {
      await removeTree(dir);
      lines.push(`removed session dir ${dir}`);
    }
    if (this.systemView) lines.push(...(await this.systemView.sweep()));
    const freed = await this.slots.sweepStale();
    if (freed.length > 0) lines.push(`freed stale uid slot lock(s): ${freed.join(", ")}`);
    return lines;
  }
}

/** The host's own `--ro-bind` sources of systemMountArgs(): what the system view overlays. */
function readOnlyBindSources(extraReadOnly: readonly string[] = []): string[] {
  const args = systemMountArgs(extraReadOnly);
  return args.filter((_, i) => args[i - 1] === "--ro-bind");
}

class BwrapSession implements PreparedSandbox {
  readonly sessionDir: string;
  readonly workDir: string;
  readonly outputDir: string;
  readonly jobWorkDir: string;
  readonly jobOutputDir: string;
  readonly jobHomeDir: string;
  readonly jobTmpDir: string;
  readonly owner: { uid: number; gid: number };
  readonly unenforcedLimits: string[];
  readonly isolationLabel: string;
  private job: BwrapJob | undefined;
  private destroyed: Promise<void> | undefined;

  constructor(
    private readonly driver: BwrapDriver,
    private readonly spec: SandboxSessionSpec,
    private readonly slot: UidSlot,
    private readonly cgroup: SessionCgroup | undefined,
    private readonly mounted: boolean,
    private readonly view: SlotView,
  ) {
    const paths = sessionPaths(spec.sessionDir);
    this.sessionDir = paths.sessionDir;
    // Bound at the same absolute path inside: host and job paths are equal.
    this.workDir = this.jobWorkDir = paths.workDir;
    this.outputDir = this.jobOutputDir = paths.outputDir;
    this.jobHomeDir = paths.homeDir;
    // The sandbox's /tmp is this same directory.
    this.jobTmpDir = paths.tmpDir;
    this.owner = { uid: slot.uid, gid: slot.gid };
    const config = driver.sessionConfig();
    this.unenforcedLimits = [...config.unenforced];
    this.isolationLabel = `${config.baseLabel}, uid ${slot.uid})`;
  }

  exec(exec: ExecSpec): SandboxProcess {
    if (this.job) throw new Error("sandbox: exec() may be called once per session");
    if (this.destroyed) throw new Error("sandbox: exec() after destroy()");
    const config = this.driver.sessionConfig();
    // The launcher through the slot's overlay of its directory, like every other file the job can see.
    const launcherDir = this.view.system.find((b) => b.target === dirname(config.tools.launcher));
    const { file, args } = buildSandboxCommand({
      tools: { ...config.tools, launcher: launcherDir ? join(launcherDir.source, basename(config.tools.launcher)) : config.tools.launcher },
      systemMounts: config.systemMounts,
      systemBinds: this.view,
      sessionDir: this.sessionDir,
      uid: this.owner.uid,
      gid: this.owner.gid,
      network: this.spec.network,
      cgroupProcsFiles: this.cgroup?.procsFiles ?? [],
      rlimits: {
        nofile: config.nofile,
        fileSizeBytes: this.spec.limits.maxDiskBytes,
        // A backstop behind pids.max (one above it, so the cgroup trips first and is reported);
        // the only pids limit when there is no pids cgroup.
        nproc: this.spec.limits.maxPids + (config.enforced.pids ? 1 : 0),
      },
      seccomp: config.seccomp !== undefined,
      argv: exec.argv,
      env: exec.env,
      cwd: exec.cwd,
    });
    this.job = new BwrapJob(file, args, exec.stdin, config.seccomp, {
      limits: this.spec.limits,
      sessionDir: this.sessionDir,
      uid: this.owner.uid,
      cgroup: this.cgroup,
      enforced: config.enforced,
      tmpfs: this.mounted,
      sampleIntervalMs: config.sampleIntervalMs,
    });
    return this.job;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      const problems: string[] = [];
      if (this.job) {
        await this.job.killTree(0);
        await within(this.job.exited, 5000);
      }
      const [cg, storage] = await Promise.allSettled([
        this.cgroup?.destroy(),
        (async () => {
          if (this.mounted) {
            const result = await unmountSession(this.sessionDir);
            if (result === "failed") problems.push(`cannot unmount ${this.sessionDir}`);
          }
          await removeTree(this.sessionDir);
        })(),
      ]);
      if (cg.status === "rejected") problems.push(`cgroup: ${String(cg.reason)}`);
      if (storage.status === "rejected") problems.push(`session dir: ${String(storage.reason)}`);
      await this.slot.release();
      if (problems.length > 0) throw new Error(`sandbox: destroy of ${this.sessionDir} incomplete: ${problems.join("; ")}`);
    })();
    return this.destroyed;
  }
}

interface JobContext {
  limits: SandboxSessionSpec["limits"];
  sessionDir: string;
  uid: number;
  cgroup: SessionCgroup | undefined;
  /** What the cgroup enforces; the rest is sampled from /proc. */
  enforced: { memory: boolean; pids: boolean };
  tmpfs: boolean;
  sampleIntervalMs: number;
}

class BwrapJob implements SandboxProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  /**
   * Only when the cgroup does not enforce memory or pids: the tree under bwrap's monitor, sampled
   * (the pid namespace keeps it whole: orphans are reparented to its init, not to the host's).
   */
  private readonly tree: ProcessTree | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private sample: TreeSample = { members: [], rssBytes: 0, cpuTicks: 0 };
  private peakRssBytes = 0;
  private breach: LimitBreach | undefined;
  private killedByDriver = false;
  private mainExited = false;

  constructor(
    file: string,
    args: string[],
    stdin: Buffer,
    seccomp: Buffer | undefined,
    private readonly ctx: JobContext,
  ) {
    // Empty environment: bwrap is PID 1 inside and /proc/1/environ is readable there (fact 2).
    this.child = spawn(file, args, {
      env: {},
      cwd: "/",
      detached: true,
      stdio: ["pipe", "pipe", "pipe", seccomp ? "pipe" : "ignore", "pipe"],
    });
    this.pid = this.child.pid ?? -1;
    this.stdout = this.child.stdout as Readable;
    this.stderr = this.child.stderr as Readable;
    for (const input of [this.child.stdin, this.child.stdio[SECCOMP_FD] as Writable | null]) {
      // EPIPE when the job does not read its stdin (or bwrap died before reading the program).
      input?.on("error", () => {});
    }
    this.child.stdin?.end(stdin);
    if (seccomp) (this.child.stdio[SECCOMP_FD] as Writable | null)?.end(seccomp);
    const status = readBounded(this.child.stdio[STATUS_FD] as Readable | null, 256);
    if ((!ctx.enforced.memory || !ctx.enforced.pids) && this.pid > 0) {
      this.tree = new ProcessTree(this.pid);
      this.timer = setInterval(() => void this.limitBreach(), ctx.sampleIntervalMs);
      this.timer.unref();
    }
    this.exited = new Promise<ProcessExit>((resolve) => {
      let spawnFailed = false;
      this.child.once("error", () => {
        spawnFailed = true;
      });
      this.child.once("exit", () => (this.mainExited = true));
      this.child.once("close", (code, signal) => {
        this.mainExited = true;
        void (async () => {
          if (this.timer) clearInterval(this.timer);
          // When bwrap's init exits the kernel kills its namespace; make sure before anyone
          // collects outputs (fact 8), and look at the counters once more.
          await this.killEverything().catch(() => 0);
          await this.limitBreach().catch(() => undefined);
          resolve(this.exitOf(spawnFailed ? 127 : code, signal, parseLauncherStatus(await status)));
        })();
      });
    });
  }

  private exitOf(code: number | null, signal: NodeJS.Signals | null, launcher: LauncherStatus | undefined): ProcessExit {
    // The launcher saw the job's own wait status: a signal is a signal, exit 139 is exit 139.
    if (launcher) {
      const { exitCode, signal: jobSignal, alive } = launcher;
      return { exitCode, signal: jobSignal, leftBehind: alive };
    }
    // No report: the launcher never ran (the wrapper refused, exit 125) or was killed with the whole
    // sandbox. bwrap reports a job killed by signal N as exit 128+N; say "signal" when we know we (or
    // the kernel's OOM killer) did it, else keep the number.
    if (signal) return { exitCode: null, signal };
    if (code !== null && code > 128 && (this.killedByDriver || this.breach)) {
      const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
      if (name) return { exitCode: null, signal: name };
    }
    return { exitCode: code, signal: null };
  }

  /** Every process of the sandbox: the job's and bwrap's own. */
  private async allPids(): Promise<number[]> {
    return this.ctx.cgroup ? this.ctx.cgroup.pids() : this.takeSample().members.map((m) => m.pid);
  }

  /** Job processes (slot uid), as opposed to bwrap's own root processes in the same cgroup. */
  private async jobPids(): Promise<number[]> {
    return (await this.allPids()).filter((pid) => readProcUids(pid)?.includes(this.ctx.uid) === true);
  }

  private takeSample(): TreeSample {
    if (!this.tree) return this.sample;
    this.sample = this.tree.sample();
    this.peakRssBytes = Math.max(this.peakRssBytes, this.sample.rssBytes);
    return this.sample;
  }

  /**
   * SIGKILL for the whole sandbox; resolves when nothing is left. Level-triggered: until bwrap itself
   * has exited it kills again and again, because a kill may land before the wrapper has joined the
   * cgroup (the cgroup is then empty) or before the launcher's first fork: the process group of the
   * wrapper, which is bwrap's monitor once it exec'd, covers that window, and killing the monitor takes
   * its pid namespace down (--die-with-parent on the init).
   */
  private async killEverything(): Promise<number> {
    let killed = 0;
    for (let round = 0; ; round++) {
      if (!this.mainExited) trySignal(-this.pid, "SIGKILL");
      killed = Math.max(killed, this.ctx.cgroup ? await this.ctx.cgroup.kill() : await this.killSampled());
      if (this.mainExited || round >= 500) return killed;
      await delay(Math.min(2 + round, 20));
    }
  }

  /** Without cgroups: SIGKILL to every sampled member until none is left. */
  private async killSampled(): Promise<number> {
    let members = this.takeSample().members;
    const count = members.length;
    for (let round = 0; members.length > 0 && round < 200; round++) {
      for (const m of members) trySignal(m.pid, "SIGKILL");
      await delay(5);
      members = this.takeSample().members;
    }
    return count;
  }

  async killTree(graceMs: number): Promise<number> {
    const jobPids = await this.jobPids();
    if (jobPids.length === 0 && this.mainExited) {
      await this.killEverything();
      return 0;
    }
    this.killedByDriver = true;
    if (graceMs > 0 && jobPids.length > 0) {
      for (const pid of jobPids) trySignal(pid, "SIGTERM");
      // A job that stopped itself (kill -STOP 0) gets the TERM only once continued.
      for (const pid of jobPids) trySignal(pid, "SIGCONT");
      // Until the whole sandbox is gone: once the job has exited, bwrap exits by itself and reports
      // the job's own status, which a KILL now would replace.
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && (await this.allPids()).length > 0) await delay(Math.min(20, graceMs));
    }
    await this.killEverything();
    return jobPids.length;
  }

  async usage(): Promise<SandboxUsage> {
    const sample = this.mainExited ? this.sample : this.takeSample();
    const sampled = {
      cpuTimeMs: ticksToMs(sample.cpuTicks),
      memoryBytes: sample.rssBytes,
      memoryPeakBytes: this.peakRssBytes,
      pids: Math.max(0, sample.members.length - (this.mainExited ? 0 : BWRAP_OVERHEAD_TASKS)),
    };
    if (!this.ctx.cgroup) return sampled;
    const s = await this.ctx.cgroup.stats();
    const memory = this.ctx.enforced.memory ? s : sampled;
    return {
      cpuTimeMs: s.cpuTimeMs,
      memoryBytes: memory.memoryBytes,
      memoryPeakBytes: memory.memoryPeakBytes,
      // After the exit pids.current may still count tasks being released: the procs list is exact.
      pids: this.mainExited ? (await this.ctx.cgroup.pids()).length : Math.max(0, s.pids - BWRAP_OVERHEAD_TASKS),
    };
  }

  async limitBreach(): Promise<LimitBreach | undefined> {
    if (this.breach) return this.breach;
    const found = await this.findBreach();
    if (found && !this.breach) {
      this.breach = found;
      this.killedByDriver = true;
      await this.killEverything();
    }
    return this.breach;
  }

  private async findBreach(): Promise<LimitBreach | undefined> {
    const { limits, enforced } = this.ctx;
    if (this.ctx.cgroup) {
      const s = await this.ctx.cgroup.stats();
      if (enforced.memory && s.oomKills > 0) return { limit: "memory", observed: s.memoryPeakBytes };
      if (enforced.pids && s.pidsMaxHits > 0) {
        return { limit: "pids", observed: Math.max(limits.maxPids, s.pids - BWRAP_OVERHEAD_TASKS) };
      }
    }
    if (this.tree && !this.mainExited) {
      const sample = this.takeSample();
      if (!enforced.memory && sample.rssBytes > limits.memoryBytes) return { limit: "memory", observed: this.peakRssBytes };
      // RLIMIT_NPROC stops the slot uid at max_pids: reaching it is the breach.
      const tasks = sample.members.length - BWRAP_OVERHEAD_TASKS;
      if (!enforced.pids && tasks >= limits.maxPids) return { limit: "pids", observed: tasks };
    }
    if (this.ctx.tmpfs) {
      const fs = await statfs(this.ctx.sessionDir).catch(() => undefined);
      if (fs && (fs.bfree === 0 || fs.ffree === 0)) {
        return { limit: "disk", observed: (fs.blocks - fs.bfree) * fs.bsize };
      }
    }
    return undefined;
  }
}

/** Everything a stream yields up to `limit` bytes, as text, once it closes (or "" if there is none). */
function readBounded(stream: Readable | null, limit: number): Promise<string> {
  if (!stream) return Promise.resolve("");
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    stream.on("error", () => {});
    stream.once("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
  });
}
