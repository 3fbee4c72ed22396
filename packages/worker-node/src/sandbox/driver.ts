import { join } from "node:path";
import type { Readable } from "node:stream";
import type { LowerTree } from "../workspace/sync-lower-tree.js";

/**
 * How strongly jobs are isolated, strongest first. The config (which the sandbox does not import) declares
 * the same modes for `security.min_isolation`; worker.ts hands that setting over as this type, so a mode
 * the config accepts and the sandbox does not know fails to compile.
 */
export type IsolationMode = "sandbox" | "reduced" | "none";

/** What the start-up's probe found: the driver that runs every job, or why jobs are refused. */
export interface IsolationReport {
  mode: IsolationMode;
  /** What the probe found and tested, one line each (health, metrics, the start-up log). */
  details: string[];
  /** Unset when the worker must refuse jobs. */
  driver?: SandboxDriver;
  /**
   * Set when jobs must be refused (health NOT_SERVING, jobs FAILED_PRECONDITION): one sentence
   * saying why and how to get stronger isolation.
   */
  refusal?: string;
}

/**
 * The seam between a session's lifecycle and the thing that runs its process.
 * A driver owns everything that isolates a job (directories, uid, cgroup, tmpfs, namespaces);
 * the lifecycle only writes inputs into `workDir`, runs one command and reads `outputDir` afterwards.
 * Drivers: `process` (no isolation, trusted jobs only) and `bwrap` (namespaces, cgroups, unprivileged uid).
 * nsjail, gVisor or a microVM would be further drivers behind the same interface and tests.
 */
export interface SandboxDriver {
  /** "process", "bwrap". */
  readonly name: string;
  readonly isolation: IsolationMode;
  /** Why this driver cannot run a job with network OPEN (what to install); undefined when it can. */
  readonly openNetworkRefusal?: string;
  /** Creates the session's resources. The caller always calls `destroy()` on the result. */
  prepare(spec: SandboxSessionSpec): Promise<PreparedSandbox>;
  /**
   * Removes what a previous worker process left behind (session dirs, cgroups, mounts) under the
   * driver's control. Called once at start-up, before any job. Returns what it removed, one line each.
   */
  sweep(baseDir: string): Promise<string[]>;
  /** Releases what the driver holds across sessions (mounts it reuses), once the last session is destroyed. */
  close(): Promise<void>;
}

/**
 * What every driver creates under `<sessionDir>`; the job sees HOME and TMPDIR here. Part of the
 * interface because validation sizes the job's environment, whose defaults are these paths, before
 * any driver prepares the session.
 */
export const SESSION_SUBDIRS = ["work", "output", "home", "tmp"] as const;

export interface SessionPaths {
  sessionDir: string;
  workDir: string;
  outputDir: string;
  homeDir: string;
  tmpDir: string;
}

export function sessionPaths(sessionDir: string): SessionPaths {
  return {
    sessionDir,
    workDir: join(sessionDir, "work"),
    outputDir: join(sessionDir, "output"),
    homeDir: join(sessionDir, "home"),
    tmpDir: join(sessionDir, "tmp"),
  };
}

export interface SandboxSessionSpec {
  sessionId: string;
  /** `<base_dir>/session-<id>`: created by prepare, removed by destroy. */
  sessionDir: string;
  limits: ResolvedLimits;
  network: "restricted" | "open";
}

/** Limits after defaults and maximums were applied. */
export interface ResolvedLimits {
  cpu: number;
  memoryBytes: number;
  timeoutMs: number;
  maxOutputBytes: number;
  maxPids: number;
  maxDiskBytes: number;
  /** 0 disables. */
  idleTimeoutMs: number;
  /** Agent tasks only (the model gateway counts them); a command's job has the defaults, unused. */
  modelMaxRequests: number;
  modelMaxTokens: number;
}

export interface PreparedSandbox {
  /** Host paths the worker writes inputs into and collects artifacts from. */
  readonly sessionDir: string;
  readonly workDir: string;
  readonly outputDir: string;
  /** The same directories as the job sees them (equal to the host paths unless the driver remaps). */
  readonly jobWorkDir: string;
  readonly jobOutputDir: string;
  /** HOME and TMPDIR as the job sees them; both count against the session's disk limit where one is enforced. */
  readonly jobHomeDir: string;
  readonly jobTmpDir: string;
  /** Who the job runs as, so the files written for it are its own; undefined when it runs as the worker. */
  readonly owner?: { uid: number; gid: number };
  /** Limits this driver cannot enforce on this machine, one line each, e.g. "max_disk_bytes: not enforced (no tmpfs)". */
  readonly unenforcedLimits: string[];
  /** Where the driver serves a workspace as an overlay of a per-slot tree; undefined: it is copied into workDir. */
  readonly workspaceOverlay?: WorkspaceOverlay;
  /** Human description for results: "sandbox (bwrap, cgroup v1, uid 200001)" or "none (trusted, unsandboxed)". */
  readonly isolationLabel: string;
  /** Starts the one command of this session. Called at most once. */
  exec(spec: ExecSpec): SandboxProcess;
  /** Releases everything prepare made. Idempotent; never throws for a missing resource. */
  destroy(): Promise<void>;
}

/**
 * A slot's lower tree, kept across the slot's sessions (one at a time), and the overlay of it at workDir
 * (sandbox/bwrap/mounts/workspace-overlay.ts). destroy() unmounts the overlay.
 */
export interface WorkspaceOverlay {
  /** The lower tree: only the worker reaches it, and only between the slot's jobs. */
  readonly lowerDir: string;
  /** What the lower tree holds; undefined when unknown (the next sync wipes it). */
  held: LowerTree | undefined;
  /** Files the last sync of this slot copied (0 for a repeat of the same manifest). */
  lastCopied: number;
  /** Mounts the overlay of lowerDir at workDir, and returns its upper dir: what the job changed. */
  mount(): Promise<string>;
}

export interface ExecSpec {
  /** argv[0] is resolved on the job's PATH. */
  argv: string[];
  /** The job's complete environment: the driver adds nothing from the worker's own environment. */
  env: Record<string, string>;
  /** Absolute path as the job sees it (inside jobWorkDir). */
  cwd: string;
  stdin: Buffer;
  /**
   * Host paths the job sees read-only at `target` beyond the usual (an agent task's OpenCode, relay and gateway
   * socket). A driver that cannot bind refuses them; the process driver sees the host as it is.
   */
  readOnlyBinds?: readonly ReadOnlyBind[];
}

export interface ReadOnlyBind {
  readonly source: string;
  readonly target: string;
}

export interface SandboxProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles once the main process has exited and its stdout/stderr pipes are closed. Never rejects. */
  readonly exited: Promise<ProcessExit>;
  /**
   * Kills every process of the job (the main one and anything it spawned, daemons included):
   * SIGTERM, then SIGKILL after `graceMs`. Resolves when none is left; returns how many it killed.
   */
  killTree(graceMs: number): Promise<number>;
  /** Usage of the whole tree now (cheap enough to sample every second). */
  usage(): Promise<SandboxUsage>;
  /**
   * A limit the kernel (or the driver's own sampling) found exceeded, once known: the lifecycle
   * polls this while the job runs and once after it exits. The driver has already killed the tree
   * when it reports one.
   */
  limitBreach(): Promise<LimitBreach | undefined>;
}

export interface ProcessExit {
  /** Set when the main process exited by itself. */
  exitCode: number | null;
  /** e.g. "SIGKILL", when the main process died of a signal. */
  signal: string | null;
  /**
   * Processes of the job still alive at the moment its main process ended, where the driver counts
   * them then (the bwrap driver's pid namespace takes them down with the main process).
   */
  leftBehind?: number;
  /** Set when the driver could not give the job what it asked for (e.g. its OPEN network) and stopped it: why. */
  failure?: string;
}

export interface SandboxUsage {
  cpuTimeMs: number;
  memoryBytes: number;
  memoryPeakBytes: number;
  pids: number;
}

export interface LimitBreach {
  limit: "memory" | "pids" | "disk";
  /** What was observed, for the message: peak bytes, pids count, bytes used. */
  observed: number;
}
