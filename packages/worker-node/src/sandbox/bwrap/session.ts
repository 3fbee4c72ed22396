import { basename, dirname, join } from "node:path";
import type { SessionCgroup } from "../cgroup/index.js";
import {
  sessionPaths,
  type ExecSpec,
  type PreparedSandbox,
  type SandboxProcess,
  type SandboxSessionSpec,
  type WorkspaceOverlay,
} from "../driver.js";
import { removeTree } from "../session-layout.js";
import { within } from "../../util/within.js";
import { buildSandboxCommand, type SandboxTools } from "./args.js";
import { BwrapJob } from "./job.js";
import type { SlotView } from "./mounts/system-view.js";
import type { OpenNetworkTools } from "./open-network.js";
import { unmountSession } from "./mounts/session-mount.js";
import type { SessionWorkspaceOverlay } from "./mounts/workspace-overlay.js";
import type { UidSlot } from "./uid-slots.js";

/** What every session of one driver shares, fixed when the driver is built and handed to each session. */
export interface BwrapSessionConfig {
  tools: SandboxTools;
  /** bwrap arguments that bind the host's read-only system paths. */
  systemMounts: string[];
  /** RLIMIT_NOFILE for jobs. */
  nofile: number;
  /** Sampling period of the limits the cgroup does not enforce. */
  sampleIntervalMs: number;
  /** The seccomp program bwrap installs before the launcher runs; none when undefined. */
  seccomp: Buffer | undefined;
  /** The isolation label without the slot uid, e.g. "sandbox (bwrap, cgroup v2, tmpfs, seccomp". */
  baseLabel: string;
  /** Limits this driver cannot enforce, each with how it degrades. */
  unenforced: readonly string[];
  /** What the cgroup enforces; the rest is sampled from /proc. */
  enforced: { memory: boolean; pids: boolean };
  /** What connects a job with network OPEN to the outside world; the driver refuses OPEN without it. */
  openNetwork: OpenNetworkTools | undefined;
}

/** One prepared session: its slot uid, storage, cgroup and system view; runs one job, then is destroyed. */
export class BwrapSession implements PreparedSandbox {
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
    private readonly config: BwrapSessionConfig,
    private readonly spec: SandboxSessionSpec,
    private readonly slot: UidSlot,
    private readonly cgroup: SessionCgroup | undefined,
    private readonly mounted: boolean,
    private readonly view: SlotView,
    private readonly workspace?: SessionWorkspaceOverlay,
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
    this.unenforcedLimits = [...config.unenforced];
    this.isolationLabel = `${config.baseLabel}, uid ${slot.uid})`;
  }

  get workspaceOverlay(): WorkspaceOverlay | undefined {
    return this.workspace;
  }

  exec(exec: ExecSpec): SandboxProcess {
    if (this.job) throw new Error("sandbox: exec() may be called once per session");
    if (this.destroyed) throw new Error("sandbox: exec() after destroy()");
    const { config } = this;
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
      readOnlyBinds: exec.readOnlyBinds ?? [],
    });
    this.job = new BwrapJob(file, args, exec.stdin, config.seccomp, {
      limits: this.spec.limits,
      sessionDir: this.sessionDir,
      uid: this.owner.uid,
      cgroup: this.cgroup,
      enforced: config.enforced,
      tmpfs: this.mounted,
      sampleIntervalMs: config.sampleIntervalMs,
      openNetwork: this.spec.network === "open" ? config.openNetwork : undefined,
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
          // Before the tmpfs it lies in, and before the slot (and so its lower tree) goes to another session.
          const overlayProblem = await this.workspace?.unmount();
          if (overlayProblem !== undefined) problems.push(overlayProblem);
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
