import { constants } from "node:fs";
import { access, lstat, mkdir } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { errnoCode } from "./errno-code.js";

/** Resolves when `dir` exists (or was created) and this process may create entries in it. */
export type DirProbe = (dir: string) => Promise<void>;

/**
 * Sessions live here, so the directory must be the worker's own: a real directory (not a link),
 * owned by the worker's uid and writable by nobody else. Otherwise another local user could have
 * made it first (a fallback under /tmp) and watch or swap session files.
 */
export const probeWritableDir: DirProbe = async (dir) => {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new Error("not a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) throw new Error(`owned by uid ${info.uid}, not the worker's ${uid}`);
  if ((info.mode & 0o022) !== 0) throw new Error("writable by other users");
  await access(dir, constants.W_OK | constants.X_OK);
};

export interface BaseDirContext {
  cwd: string;
  env: Record<string, string | undefined>;
  probe: DirProbe;
}

const BASE_DIR_KEY = "session.base_dir";

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
  const failure = await probeFailure(dir, context.probe);
  if (failure === undefined) return { dir };
  if (source !== "default") {
    const problem = `expected a directory the worker can create and write (${errnoCode(failure)})`;
    throw new ConfigError(BASE_DIR_KEY, configured, source, problem, { cause: failure });
  }
  const fallback = fallbackBaseDir(context.env);
  const fallbackFailure = await probeFailure(fallback, context.probe);
  if (fallbackFailure !== undefined) {
    const problem =
      `expected a writable directory, but neither the default (${errnoCode(failure)}) nor ${fallback} ` +
      `(${errnoCode(fallbackFailure)}) is; set ${BASE_DIR_KEY}`;
    throw new ConfigError(BASE_DIR_KEY, configured, source, problem, { cause: fallbackFailure });
  }
  return { dir: fallback, note: `${BASE_DIR_KEY} ${dir} is not writable (${errnoCode(failure)}); using ${fallback}` };
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
