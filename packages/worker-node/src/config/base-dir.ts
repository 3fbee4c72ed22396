import { spawn } from "node:child_process";
import { tmpdir, userInfo } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { errnoCode } from "./errno-code.js";
import { pseudoFileSystemName } from "./pseudo-fs.js";

/**
 * Resolves when `dir` exists (or was created) and this process may create entries in it. A probe
 * stops its work when `signal` aborts (the deadline passed).
 */
export type DirProbe = (dir: string, signal?: AbortSignal) => Promise<void>;

/**
 * Sessions live here, so the directory must be the worker's own: a real directory (not a link),
 * owned by the worker's uid and writable by nobody else. Otherwise another local user could have
 * made it first (a fallback under /tmp) and watch or swap session files. And it must be storage:
 * the nearest existing ancestor's file system is checked before anything is created (see
 * pseudoFileSystemName).
 *
 * Self-contained, with its modules passed in: probeWritableDir runs its source in a child process.
 * @throws Error, with the errno `code` when a call failed
 */
function checkBaseDir(
  dir: string,
  fs: typeof import("node:fs"),
  path: typeof import("node:path"),
  fileSystemName: (type: number) => string | undefined,
): void {
  for (let at = dir; ; at = path.dirname(at)) {
    let type: number;
    try {
      type = fs.statfsSync(at).type;
    } catch (error) {
      // Not there yet: mkdir will create it in its parent. Any other error is mkdir's to report.
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && at !== path.dirname(at)) continue;
      break;
    }
    const name = fileSystemName(type);
    if (name !== undefined) throw new Error(`${at} is on ${name}, a kernel file system that stores no files`);
    break;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const info = fs.lstatSync(dir);
  if (!info.isDirectory()) throw new Error("not a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) throw new Error(`owned by uid ${info.uid}, not the worker's ${uid}`);
  if ((info.mode & 0o022) !== 0) throw new Error("writable by other users");
  fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
}

/** Runs checkBaseDir on argv[1]; a refusal comes back on stdout as JSON, with exit code 1. */
const PROBE_SCRIPT = `
try {
  (${checkBaseDir.toString()})(process.argv[1], require("node:fs"), require("node:path"), ${pseudoFileSystemName.toString()});
} catch (error) {
  process.stdout.write(JSON.stringify({ message: error.message, code: error.code }));
  process.exitCode = 1;
}`;

/**
 * checkBaseDir, in a child process. A call on a file system that hangs (a FUSE daemon that stopped,
 * an NFS server gone) blocks its thread in the kernel, where nothing can cancel it; in this process
 * that would be a thread of the pool, which Node joins at exit, so the worker could not even exit. A
 * child is killed when `signal` aborts, and left behind if even that cannot end it.
 */
export const probeWritableDir: DirProbe = (dir, signal) =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["-e", PROBE_SCRIPT, dir], { env: {}, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const abandon = (): void => {
      child.kill("SIGKILL");
      child.unref();
      child.stdout.destroy();
      child.stderr.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", abandon, { once: true });
    child.on("error", reject);
    child.on("close", (code) => {
      signal?.removeEventListener("abort", abandon);
      if (code === 0) resolvePromise();
      else reject(probeError(stdout, stderr, code));
    });
  });

/** checkBaseDir's error as the child reported it, or what its stderr says when it did not get that far. */
function probeError(stdout: string, stderr: string, exitCode: number | null): Error {
  try {
    const { message, code } = JSON.parse(stdout) as { message: string; code?: string };
    return Object.assign(new Error(message), { code });
  } catch {
    return new Error(`the probe process failed (${exitCode === null ? "killed" : `exit code ${exitCode}`}): ${stderr.trim()}`);
  }
}

export interface BaseDirContext {
  cwd: string;
  env: Record<string, string | undefined>;
  probe: DirProbe;
  /** How long one probe may take. @default BASE_DIR_DEADLINE_MS */
  deadlineMs?: number;
}

const BASE_DIR_KEY = "session.base_dir";

/**
 * A probe still running after this is on a file system that does not answer (a hung FUSE or NFS
 * mount, a kernel file system not known as one): start-up fails, naming the path, rather than hang
 * without a word.
 */
export const BASE_DIR_DEADLINE_MS = 5000;

/**
 * The absolute session base directory, probed. Only the default falls back to a per-user directory: it
 * names a system path that a developer's machine or an unprivileged container rarely lets us write. A
 * directory someone configured and the worker cannot use is theirs to fix, so it is a ConfigError.
 */
export async function resolveBaseDir(
  configured: string,
  source: string,
  context: BaseDirContext,
): Promise<{ dir: string; note?: string | undefined }> {
  const dir = resolve(context.cwd, configured);
  const probe = withDeadline(context.probe, context.deadlineMs ?? BASE_DIR_DEADLINE_MS);
  const failure = await probeFailure(dir, probe);
  if (failure === undefined) return { dir };
  if (source !== "default") {
    const problem = `expected a directory the worker can create and write (${errnoCode(failure)})`;
    throw new ConfigError(BASE_DIR_KEY, configured, source, problem, { cause: failure });
  }
  const fallback = fallbackBaseDir(context.env);
  const fallbackFailure = await probeFailure(fallback, probe);
  if (fallbackFailure !== undefined) {
    const problem =
      `expected a writable directory, but neither the default (${errnoCode(failure)}) nor ${fallback} ` +
      `(${errnoCode(fallbackFailure)}) is; set ${BASE_DIR_KEY}`;
    throw new ConfigError(BASE_DIR_KEY, configured, source, problem, { cause: fallbackFailure });
  }
  return { dir: fallback, note: `${BASE_DIR_KEY} ${dir} is not writable (${errnoCode(failure)}); using ${fallback}` };
}

/** The probe, failing once `deadlineMs` have passed without an answer, and told to stop then. */
function withDeadline(probe: DirProbe, deadlineMs: number): DirProbe {
  return async (dir) => {
    const controller = new AbortController();
    const deadline = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason)));
    const timer = setTimeout(
      () => controller.abort(new Error(`${dir} did not respond within ${deadlineMs / 1000} s (a hung file system?)`)),
      deadlineMs,
    );
    try {
      await Promise.race([probe(dir, controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The probe's error, or undefined when the directory is usable. */
async function probeFailure(dir: string, probe: DirProbe): Promise<unknown> {
  try {
    await probe(dir);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Per-user state, as the XDG base directory spec has it, else a per-user directory under the temp dir. */
function fallbackBaseDir(env: Record<string, string | undefined>): string {
  const stateHome = env.XDG_STATE_HOME;
  // The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  if (stateHome && isAbsolute(stateHome)) return join(stateHome, "opencode-worker", "sessions");
  return join(tmpdir(), `opencode-worker-${process.getuid?.() ?? userInfo().username}`, "sessions");
}
