import { spawn, type ChildProcess } from "node:child_process";
import { statfs } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { SessionCgroup } from "../cgroup/index.js";
import type { LimitBreach, ProcessExit, SandboxProcess, SandboxSessionSpec, SandboxUsage } from "../driver.js";
import { readProcUids, ticksToMs, trySignal } from "../proc-scan.js";
import { ProcessTree, type TreeSample } from "../process-tree.js";
import { parseLauncherStatus, SECCOMP_FD, STATUS_FD, type LauncherStatus } from "./launcher.js";
import { connectOutside, NET_BLOCK_FD, NET_INFO_FD, type OpenNetworkTools } from "./open-network.js";
import { signalName } from "@opencode-worker/shared";
import { readText } from "../../util/read-text.js";

/** bwrap's monitor, the pid namespace's init and the launcher's parent live in the session cgroup with the job. */
export const BWRAP_OVERHEAD_TASKS = 3;

export interface JobContext {
  limits: SandboxSessionSpec["limits"];
  sessionDir: string;
  uid: number;
  cgroup: SessionCgroup | undefined;
  /** What the cgroup enforces; the rest is sampled from /proc. */
  enforced: { memory: boolean; pids: boolean };
  tmpfs: boolean;
  sampleIntervalMs: number;
  /** Set for a job with network OPEN: bwrap waits until the driver has connected its namespace. */
  openNetwork: OpenNetworkTools | undefined;
}

/** One job in a session's sandbox: spawns bwrap, watches the limits the cgroup does not enforce, kills the whole sandbox. */
export class BwrapJob implements SandboxProcess {
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
  /** Why the OPEN network could not be set up, when it could not (the job was killed before it ran). */
  private networkFailure: string | undefined;
  private mainExited = false;
  /** Network OPEN: the set-up under way, then the slirp4netns that serves the job until it ends. */
  private readonly network: Promise<ChildProcess | undefined>;

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
      stdio: ["pipe", "pipe", "pipe", seccomp ? "pipe" : "ignore", "pipe", ...(ctx.openNetwork ? (["pipe", "pipe"] as const) : [])],
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
    const status = readText(this.child.stdio[STATUS_FD] as Readable | null, 256);
    this.network = ctx.openNetwork ? this.connectNetwork(ctx.openNetwork) : Promise.resolve(undefined);
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
          (await this.network)?.kill("SIGKILL");
          await this.limitBreach().catch(() => undefined);
          const exit = this.exitOf(spawnFailed ? 127 : code, signal, parseLauncherStatus(await status));
          resolve(this.networkFailure === undefined ? exit : { ...exit, failure: this.networkFailure });
        })();
      });
    });
  }

  /**
   * Lets bwrap run the job once its namespace reaches the outside world; on any failure the sandbox
   * is killed before the job's first instruction (never run with a half-made network).
   */
  private async connectNetwork(tools: OpenNetworkTools): Promise<ChildProcess | undefined> {
    // Node types a child's stdio as five entries; these two are the sixth and seventh.
    const stdio = this.child.stdio as readonly unknown[];
    const block = stdio[NET_BLOCK_FD] as Writable;
    block.on("error", () => {});
    try {
      const helper = await connectOutside(stdio[NET_INFO_FD] as Readable, tools);
      block.end("1");
      return helper;
    } catch (error) {
      this.networkFailure = `network OPEN could not be set up: ${error instanceof Error ? error.message : String(error)}`;
      this.killedByDriver = true;
      await this.killEverything();
      return undefined;
    }
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
      return { exitCode: null, signal: signalName(code - 128) };
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
