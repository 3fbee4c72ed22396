import { mkdirSync } from "node:fs";
import { mkdir, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { WorkerError } from "../../errors.js";
import { openCgroups, type CgroupManager, type KillMethod } from "../cgroup/index.js";
import { sessionPaths, type PreparedSandbox, type SandboxDriver, type SandboxSessionSpec } from "../driver.js";
import { pidsWithUidIn, trySignal } from "../proc-scan.js";
import { assertSessionDir, createSubdirs, ensureBaseDir, listSessionDirs, removeTree } from "../session-layout.js";
import { assertSandboxableSessionDir, systemMountArgs } from "./args.js";
import { BWRAP_OVERHEAD_TASKS } from "./job.js";
import { findLauncher } from "./launcher.js";
import type { OpenNetworkTools } from "./open-network.js";
import { mountSessionTmpfs, sessionMountsUnder, unmountSession } from "./mounts/session-mount.js";
import { SystemView } from "./mounts/system-view.js";
import {
  probeWorkspaceOverlay,
  SessionWorkspaceOverlay,
  workspaceMountsUnder,
  workspacesDir,
  type SlotTreeState,
} from "./mounts/workspace-overlay.js";
import { describeSeccompPolicy, seccompProgram } from "./seccomp/index.js";
import { baseDirTag, sessionCgroupName } from "./session-cgroup-name.js";
import { BwrapSession, type BwrapSessionConfig } from "./session.js";
import { NoFreeSlotError, UidSlots } from "./uid-slots.js";

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
  /** What connects network OPEN jobs to the outside world, or why they are refused. @default refused */
  openNetwork?: OpenNetworkTools | string;
  /** Serve workspaces as overlays of per-slot trees (mounts/workspace-overlay.ts); with tmpfs storage only. @default false */
  workspaceOverlays?: boolean;
}

/** Options of the driver as the probe builds it: cgroups opened and the seccomp program compiled for it. */
export interface CreateBwrapDriverOptions extends Omit<BwrapDriverOptions, "cgroups" | "seccomp" | "systemView" | "workspaceOverlays"> {
  /** session.base_dir: where the per-slot system view lives; without it the host's paths are bound. */
  baseDir?: string;
  /** The driver's cgroup, under the worker's own in each hierarchy. @default opencode-worker */
  cgroupParent?: string;
  /** false: run without cgroups (reduced). @default true */
  useCgroups?: boolean;
  killMethod?: "auto" | KillMethod;
}

/** Opens the cgroups and builds the driver. `details` explains anything that degraded. */
export async function createBwrapDriver(options: CreateBwrapDriverOptions): Promise<{ driver: BwrapDriver; details: string[] }> {
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
    systemView = await SystemView.open({
      baseDir: options.baseDir,
      paths: [...readOnlyBindSources(options.readOnlyPaths), dirname(findLauncher())],
    });
    details.push(systemView.description);
  }
  let workspaceOverlays = false;
  if (options.baseDir !== undefined && (options.storage ?? "tmpfs") === "tmpfs") {
    const refusal = await probeWorkspaceOverlay(options.baseDir);
    workspaceOverlays = refusal === undefined;
    details.push(
      refusal === undefined
        ? "workspaces: an overlay of a per-slot tree (a repeat manifest copies nothing)"
        : `workspaces: copied into each session (the overlay cannot be mounted: ${refusal})`,
    );
  }
  details.push(
    typeof options.openNetwork === "object"
      ? `network OPEN: a namespace of its own, connected by ${options.openNetwork.slirp4netns} (no host loopback, host addresses or 169.254.0.0/16)`
      : `network OPEN refused: ${options.openNetwork ?? "not configured"}`,
  );
  return { driver: new BwrapDriver({ ...options, cgroups, seccomp, systemView, workspaceOverlays }), details };
}

/**
 * The `bwrap` driver: each session gets a slot uid/gid, a tmpfs limited in bytes and inodes,
 * a cgroup (memory, pids, cpu; killed as a whole), and a bubblewrap sandbox run as root without
 * a user namespace (pid, ipc, uts, cgroup and net namespaces, the last connected to the outside
 * world only when the network is open;
 * read-only /usr and /etc, nothing else of the host) that drops to the slot uid with every
 * capability gone and no_new_privs before the job's first instruction.
 */
export class BwrapDriver implements SandboxDriver {
  readonly name = "bwrap";
  readonly isolation: "sandbox" | "reduced";
  readonly slots: UidSlots;
  readonly cgroups: CgroupManager | undefined;
  readonly systemView: SystemView | undefined;
  readonly openNetworkRefusal: string | undefined;
  private readonly storage: "tmpfs" | "directory";
  private readonly workspaceOverlays: boolean;
  /** Each slot's lower tree, by uid: what it holds, for the next session of the slot (mounts/workspace-overlay.ts). */
  readonly slotTrees = new Map<number, SlotTreeState>();
  /** Handed to every session: what they share, so a session needs nothing else of the driver. */
  private readonly sessionConfig: BwrapSessionConfig;

  constructor(options: BwrapDriverOptions) {
    this.cgroups = options.cgroups;
    this.storage = options.storage ?? "tmpfs";
    // The upper dir lies in the session tmpfs.
    this.workspaceOverlays = options.workspaceOverlays === true && this.storage === "tmpfs";
    this.slots = new UidSlots({ base: options.uidBase, lockDir: options.slotLockDir });
    this.systemView = options.systemView;
    const openNetwork = options.openNetwork ?? "network OPEN is not configured for this bwrap driver";
    this.openNetworkRefusal = typeof openNetwork === "string" ? openNetwork : undefined;
    const seccomp = options.seccomp;
    const cg = this.cgroups;
    const unenforced: string[] = [];
    if (!cg) {
      unenforced.push(
        "memory: no usable cgroup; sampled every few hundred ms and killed when over (best effort)",
        "max_pids: no pids cgroup; RLIMIT_NPROC of the slot uid only",
        "cpu: not enforced (no cpu cgroup; reported only)",
      );
    } else {
      if (!cg.enforced.memory) unenforced.push("memory: no memory cgroup controller; sampled (best effort)");
      if (!cg.enforced.pids) unenforced.push("max_pids: no pids cgroup controller; RLIMIT_NPROC only");
      if (!cg.enforced.cpu) unenforced.push("cpu: not enforced (no cpu cgroup controller; reported only)");
    }
    if (this.storage === "directory") {
      unenforced.push("max_disk_bytes: not enforced (no tmpfs); RLIMIT_FSIZE caps each file");
    }
    const strong = cg !== undefined && cg.enforced.memory && cg.enforced.pids && this.storage === "tmpfs" && seccomp !== undefined;
    this.isolation = strong ? "sandbox" : "reduced";
    this.sessionConfig = {
      tools: { sh: "/bin/sh", bwrap: options.bwrapPath, launcher: findLauncher() },
      systemMounts: systemMountArgs(options.readOnlyPaths),
      nofile: options.nofile ?? 4096,
      sampleIntervalMs: options.sampleIntervalMs ?? 250,
      seccomp,
      baseLabel: `${this.isolation} (bwrap, ${cg ? cg.label : "no cgroups"}, ${this.storage === "tmpfs" ? "tmpfs" : "no tmpfs"}, ${seccomp ? "seccomp" : "no seccomp"}`,
      unenforced,
      enforced: { memory: cg?.enforced.memory === true, pids: cg?.enforced.pids === true },
      openNetwork: typeof openNetwork === "string" ? undefined : openNetwork,
    };
  }

  async prepare(spec: SandboxSessionSpec): Promise<PreparedSandbox> {
    assertSessionDir(spec.sessionDir);
    assertSandboxableSessionDir(spec.sessionDir);
    // Never the host's namespace instead: an OPEN job without its own network does not run.
    if (spec.network === "open" && this.openNetworkRefusal) {
      throw new WorkerError("FAILED_PRECONDITION", `sandbox: ${this.openNetworkRefusal}`, { sessionId: spec.sessionId });
    }
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
      throw new WorkerError(
        "UNAVAILABLE",
        `sandbox: cannot prepare session ${spec.sessionId}: ${String(cause)}`,
        {
          sessionId: spec.sessionId,
        },
        { cause },
      );
    }
    return new BwrapSession(
      this.sessionConfig,
      spec,
      slot,
      cgroupResult.status === "fulfilled" ? cgroupResult.value : undefined,
      mounted,
      viewResult.value,
      this.workspaceOverlays ? this.workspaceOverlay(spec.sessionDir, owner) : undefined,
    );
  }

  /** The session's overlay of its slot's lower tree, `<base>/.workspaces/slot-<uid>/tree`. */
  private workspaceOverlay(sessionDir: string, owner: { uid: number; gid: number }): SessionWorkspaceOverlay {
    const slotDir = join(workspacesDir(dirname(sessionDir)), `slot-${owner.uid}`);
    let state = this.slotTrees.get(owner.uid);
    if (!state) {
      // Root 0700, once per slot: no job can reach the tree (synchronous: microseconds, see session-layout.ts).
      mkdirSync(slotDir, { recursive: true, mode: 0o700 });
      state = { held: undefined, lastCopied: 0 };
      this.slotTrees.set(owner.uid, state);
    }
    return new SessionWorkspaceOverlay(state, join(slotDir, "tree"), sessionDir, sessionPaths(sessionDir).workDir, owner);
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
      lines.push(
        `killed ${strays.length} stray process(es) running as sandbox uids: ${strays.map((s) => `${s.pid}(uid ${s.uid})`).join(", ")}`,
      );
    }
    // A session's workspace overlay lies in its tmpfs: it goes first.
    for (const mount of await workspaceMountsUnder(baseDir)) {
      lines.push(`${await unmountSession(mount)} ${mount}`);
    }
    for (const mount of await sessionMountsUnder(baseDir)) {
      lines.push(`${await unmountSession(mount)} ${mount}`);
    }
    for (const dir of await listSessionDirs(baseDir)) {
      await removeTree(dir);
      lines.push(`removed session dir ${dir}`);
    }
    // The lower trees: what they hold is unknown to this process.
    this.slotTrees.clear();
    await removeTree(workspacesDir(baseDir));
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
