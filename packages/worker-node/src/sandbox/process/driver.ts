import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import {
  sessionPaths,
  type ExecSpec,
  type LimitBreach,
  type PreparedSandbox,
  type ProcessExit,
  type SandboxDriver,
  type SandboxProcess,
  type SandboxSessionSpec,
  type SandboxUsage,
} from "../driver.js";
import { ticksToMs, trySignal, type ProcStat } from "../proc-scan.js";
import { ProcessTree, type TreeSample } from "../process-tree.js";
import { assertSessionDir, createSubdirs, discardTree, ensureBaseDir, listSessionDirs, listTrash, removeTree } from "../session-layout.js";

/** After the main process exited and its tree was killed, how long its pipes may stay open. */
const PIPE_CLOSE_GRACE_MS = 2000;

export interface ProcessDriverOptions {
  /** How often the job's tree is sampled for memory and pids. @default 250 */
  sampleIntervalMs?: number;
}

/**
 * The `process` driver: no isolation at all. The job runs as the worker's own uid, sees the whole
 * host and can keep a daemon alive that this driver never saw. Allowed only when the configuration
 * says jobs are trusted (`security.trusted_jobs`); every result says "none (trusted, unsandboxed)".
 * Memory and pids are enforced by sampling the tree, disk and cpu are not enforced.
 */
export class ProcessDriver implements SandboxDriver {
  readonly name = "process";
  readonly isolation = "none" as const;
  private readonly sampleIntervalMs: number;

  constructor(options: ProcessDriverOptions = {}) {
    this.sampleIntervalMs = options.sampleIntervalMs ?? 250;
  }

  async prepare(spec: SandboxSessionSpec): Promise<PreparedSandbox> {
    assertSessionDir(spec.sessionDir);
    ensureBaseDir(spec.sessionDir);
    mkdirSync(spec.sessionDir, { mode: 0o700 });
    createSubdirs(spec.sessionDir);
    return new ProcessSession(spec, this.sampleIntervalMs);
  }

  /**
   * Removes leftover session dirs. Processes a crashed worker left behind cannot be found: nothing
   * recorded them (this is one reason the process driver is for trusted jobs only).
   */
  /** Nothing outlives a session. */
  async close(): Promise<void> {}

  async sweep(baseDir: string): Promise<string[]> {
    const lines: string[] = [];
    for (const dir of [...(await listSessionDirs(baseDir)), ...(await listTrash(baseDir))]) {
      await removeTree(dir);
      lines.push(`removed session dir ${dir}`);
    }
    return lines;
  }
}

class ProcessSession implements PreparedSandbox {
  readonly sessionDir: string;
  readonly workDir: string;
  readonly outputDir: string;
  readonly jobWorkDir: string;
  readonly jobOutputDir: string;
  readonly jobHomeDir: string;
  readonly jobTmpDir: string;
  readonly unenforcedLimits = [
    "max_disk_bytes: not enforced by the process driver",
    "cpu: not enforced (reported only)",
    "memory, max_pids: enforced by sampling every few hundred ms (best effort, no kernel limit)",
  ];
  readonly isolationLabel = "none (trusted, unsandboxed)";
  private job: ProcessJob | undefined;
  private destroyed: Promise<void> | undefined;

  constructor(
    private readonly spec: SandboxSessionSpec,
    private readonly sampleIntervalMs: number,
  ) {
    const paths = sessionPaths(spec.sessionDir);
    this.sessionDir = paths.sessionDir;
    this.workDir = this.jobWorkDir = paths.workDir;
    this.outputDir = this.jobOutputDir = paths.outputDir;
    this.jobHomeDir = paths.homeDir;
    this.jobTmpDir = paths.tmpDir;
  }

  exec(spec: ExecSpec): SandboxProcess {
    if (this.job) throw new Error("sandbox: exec() may be called once per session");
    if (this.destroyed) throw new Error("sandbox: exec() after destroy()");
    this.job = new ProcessJob(spec, this.spec, this.sampleIntervalMs);
    return this.job;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      if (this.job) {
        await this.job.killTree(0);
        await this.job.exited;
      }
      discardTree(this.sessionDir);
    })();
    return this.destroyed;
  }
}

class ProcessJob implements SandboxProcess {
  readonly pid: number;
  readonly stdout: ChildProcess["stdout"] & object;
  readonly stderr: ChildProcess["stderr"] & object;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly tree: ProcessTree;
  private readonly timer: NodeJS.Timeout;
  private last: TreeSample = { members: [], rssBytes: 0, cpuTicks: 0 };
  private peakRssBytes = 0;
  private maxCpuTicks = 0;
  private breach: LimitBreach | undefined;
  private mainExited = false;
  private reapAfterExit: Promise<number> | undefined;

  constructor(
    spec: ExecSpec,
    private readonly session: SandboxSessionSpec,
    sampleIntervalMs: number,
  ) {
    // detached: the job leads its own session and process group, so one kill(-pgid) reaches
    // everything that did not setsid away.
    this.child = spawn(spec.argv[0] ?? "", spec.argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.pid = this.child.pid ?? -1;
    this.stdout = this.child.stdout as NonNullable<ChildProcess["stdout"]>;
    this.stderr = this.child.stderr as NonNullable<ChildProcess["stderr"]>;
    this.child.stdin?.on("error", () => {
      // EPIPE when the job does not read its stdin: not an error of the job or the worker.
    });
    this.child.stdin?.end(spec.stdin);
    this.tree = new ProcessTree(this.pid, session.sessionDir);

    this.exited = new Promise<ProcessExit>((resolve) => {
      let settled = false;
      const settle = (exit: ProcessExit): void => {
        if (settled) return;
        settled = true;
        clearInterval(this.timer);
        resolve(exit);
      };
      this.child.once("error", () => {
        // Spawn failed (argv[0] not found, cwd missing): report it like a shell would.
        this.mainExited = true;
        settle({ exitCode: 127, signal: null });
      });
      this.child.once("exit", () => {
        this.mainExited = true;
        // Whatever the main process left running dies with it, as in the bwrap driver (where the
        // pid namespace does this); otherwise a daemon holding stdout would keep 'close' away.
        this.reapAfterExit = this.killMembers(0);
        void this.reapAfterExit.then(() => {
          // A daemon this driver never saw may still hold the pipes: stop reading after a while.
          const timer = setTimeout(() => {
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
          }, PIPE_CLOSE_GRACE_MS);
          timer.unref();
          this.child.once("close", () => clearTimeout(timer));
        });
      });
      this.child.once("close", (code, signal) => settle({ exitCode: code, signal }));
    });
    // No sample at spawn: the child has not even exec'd yet. The timer keeps `last` fresh.
    this.timer = setInterval(() => this.sampleNow(), sampleIntervalMs);
    this.timer.unref();
  }

  private sampleNow(): TreeSample {
    const sample = this.tree.sample();
    this.last = sample;
    this.peakRssBytes = Math.max(this.peakRssBytes, sample.rssBytes);
    this.maxCpuTicks = Math.max(this.maxCpuTicks, sample.cpuTicks);
    if (!this.breach && !this.mainExited) {
      const { memoryBytes, maxPids } = this.session.limits;
      if (sample.rssBytes > memoryBytes) this.breach = { limit: "memory", observed: this.peakRssBytes };
      else if (sample.members.length > maxPids) this.breach = { limit: "pids", observed: sample.members.length };
      if (this.breach) void this.killTree(0);
    }
    return sample;
  }

  /** After the main process exited, the one kill of its leftovers answers every later call. */
  killTree(graceMs: number): Promise<number> {
    return this.reapAfterExit ?? this.killMembers(graceMs);
  }

  private async killMembers(graceMs: number): Promise<number> {
    let members = this.sampleNow().members;
    const count = members.length;
    if (count === 0) return 0;
    if (graceMs > 0) {
      this.signalAll(members, "SIGTERM");
      // A stopped job (kill -STOP 0) would never see the TERM.
      this.signalAll(members, "SIGCONT");
      const deadline = Date.now() + graceMs;
      while (members.length > 0 && Date.now() < deadline) {
        await delay(Math.min(25, graceMs));
        members = this.sampleNow().members;
      }
    }
    for (let round = 0; members.length > 0 && round < 200; round++) {
      this.signalAll(members, "SIGKILL");
      await delay(5);
      members = this.sampleNow().members;
    }
    return count;
  }

  private signalAll(members: ProcStat[], signal: NodeJS.Signals): void {
    // The group first (reaches children forked since the last sample), then every known member,
    // which covers setsid daemons this driver happened to see.
    if (!this.mainExited || members.some((m) => m.pgrp === this.pid)) trySignal(-this.pid, signal);
    for (const m of members) trySignal(m.pid, signal);
  }

  async usage(): Promise<SandboxUsage> {
    // The sampling timer keeps this fresh; a scan per caller would double the /proc reads.
    const sample = this.last;
    return {
      cpuTimeMs: ticksToMs(this.maxCpuTicks),
      memoryBytes: sample.rssBytes,
      memoryPeakBytes: this.peakRssBytes,
      pids: sample.members.length,
    };
  }

  async limitBreach(): Promise<LimitBreach | undefined> {
    return this.breach;
  }
}
