import { chown, mkdir, readdir, rm } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";

/** What every driver creates under `<sessionDir>`; the job sees HOME and TMPDIR here. */
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

/** Thrown (as a plain Error: a worker bug, not a job's) when a session dir is not `<base>/session-<id>`. */
export function assertSessionDir(sessionDir: string): void {
  if (!isAbsolute(sessionDir) || normalize(sessionDir) !== sessionDir || sessionDir.endsWith("/")) {
    throw new Error(`sandbox: session dir must be a normalised absolute path, got ${JSON.stringify(sessionDir)}`);
  }
  if (!basename(sessionDir).startsWith("session-") || /[\0\n]/.test(sessionDir)) {
    throw new Error(`sandbox: session dir must be named session-<id>, got ${JSON.stringify(sessionDir)}`);
  }
}

/** The base dir is the worker's: 0700, so no other host user can even list the sessions. */
export async function ensureBaseDir(sessionDir: string): Promise<void> {
  await mkdir(dirname(sessionDir), { recursive: true, mode: 0o700 });
}

/** Creates the four subdirs (0700), owned by `owner` when the job runs as another uid. */
export async function createSubdirs(sessionDir: string, owner?: { uid: number; gid: number }): Promise<void> {
  await Promise.all(
    SESSION_SUBDIRS.map(async (name) => {
      const dir = join(sessionDir, name);
      await mkdir(dir, { mode: 0o700 });
      if (owner) await chown(dir, owner.uid, owner.gid);
    }),
  );
}

/** `session-*` entries of a base dir; an absent base dir has none. */
export async function listSessionDirs(baseDir: string): Promise<string[]> {
  try {
    const entries = await readdir(baseDir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && e.name.startsWith("session-")).map((e) => join(baseDir, e.name));
  } catch {
    return [];
  }
}

/** rm -rf that never follows links (fs.rm unlinks symlinks, it does not descend into them). */
export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}
