/** What a caller asks a worker to run: the friendly form the SDK validates and turns into the wire spec. */

/** An input file: its content, or its content with permission bits (e.g. `0o755` for a script). */
export type FileInput = string | Uint8Array | { content: string | Uint8Array; mode?: number };

/** A byte count, or a size as people write it: `"512MiB"`, `"2GB"`, `"1.5 GiB"`. */
export type ByteSize = number | string;

/** Whether the job may reach the network. The worker refuses "open" unless its configuration allows it. */
export type NetworkAccess = "restricted" | "open";

/** Resource limits; an unset field takes the worker's default, a value above its maximum is refused. */
export interface JobLimitsInput {
  /** CPU cores, fractional: 0.5 is half a core. */
  cpu?: number;
  memory?: ByteSize;
  /** Wall-clock lifetime of the command in ms, enforced by the worker. Not the RPC deadline (`requestTimeoutMs`). */
  timeoutMs?: number;
  /** Total stdout plus stderr; the job is stopped when it writes more. */
  maxOutput?: ByteSize;
  maxPids?: number;
  /** Bytes the job may write into its session. */
  maxDisk?: ByteSize;
  /** Stops the job after this long without output, in ms; 0 disables it. */
  idleTimeoutMs?: number;
  /** Agent tasks only: requests the agent may make of its model; the next one stops the job ("model_budget"). */
  modelMaxRequests?: number;
  /** Agent tasks only: tokens (prompt plus answer, as the provider reports them) the agent may use. */
  modelMaxTokens?: number;
}

/** The agent session's configuration, written into the session as opencode.json. */
export interface SessionConfigInput {
  mode?: string;
  provider?: string;
  model?: string;
  telemetry?: boolean;
}

/**
 * A task for a fresh OpenCode agent inside the job's sandbox, in the work dir. It has no network: its model is
 * reached through the worker's gateway, which holds the provider's key. What it changed comes back in
 * `workspaceChanges`, what it said and used in `agent`.
 */
export interface AgentTaskInput {
  /** What to do: the agent's first message. At most 256 KiB. */
  prompt: string;
  /** "provider/model", one the worker's configuration names. @default config.provider and config.model */
  model?: string;
  /** The OpenCode agent: "build" or "plan". @default config.mode, else "build" */
  agent?: string;
  /** Extra instructions for the agent's system prompt. At most 64 KiB. */
  instructions?: string;
}

/** A job: a command, or an agent task, with its inputs. Exactly one of `command`, `argv` and `agentTask` is set. */
export interface JobSpec {
  /**
   * `[A-Za-z0-9._-]{1,128}`. Dispatching the same id with the same spec returns the existing job.
   * @default a UUIDv7 chosen by the SDK before the first attempt, so a retried dispatch cannot start a second job
   */
  jobId?: string;
  /** A shell command line, run by `/bin/sh -c`. */
  command?: string;
  /** A program and its arguments, exec'd without a shell. */
  argv?: string[];
  /** An OpenCode agent run on the worker instead of a command; its network must stay "restricted". */
  agentTask?: AgentTaskInput;
  /** Files written into the work dir before the command runs: relative path -> content. Strings are UTF-8. */
  files?: Record<string, FileInput>;
  /** Environment variables on top of the worker's safe defaults. */
  env?: Record<string, string>;
  /** Working directory relative to the work dir. @default the work dir */
  cwd?: string;
  /** Fed to standard input, which is then closed. Strings are UTF-8. */
  stdin?: string | Uint8Array;
  limits?: JobLimitsInput;
  /** @default "restricted" */
  network?: NetworkAccess;
  config?: SessionConfigInput;
  /** Glob patterns relative to the output dir selecting the artifacts to collect. @default every regular file */
  artifacts?: string[];
  /**
   * The work dir as a content-addressed manifest, whose blobs the worker must hold (`uploadBlobs()`).
   * Low level: `WorkerClient.workspace()` builds it from a directory, uploads and applies the changes.
   */
  workspace?: WorkspaceManifest;
}

/** A work dir described by content digests; directories are implied by the paths. */
export interface WorkspaceManifest {
  entries: WorkspaceEntry[];
  /** Globs (the syntax of `artifacts`) of paths whose changes stay on the worker, e.g. "node_modules/**". */
  remoteOnly?: string[];
}

/** One entry of a manifest: a regular file (by digest, with its permission bits) or a symbolic link. */
export type WorkspaceEntry = { path: string; sha256: string; size: number; mode: number } | { path: string; symlinkTarget: string };
