import { chownSync, mkdirSync, renameSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import { removeTree } from "../files/remove-tree.js";
import { SESSION_SUBDIRS } from "./driver.js";

/** Thrown (as a plain Error: a worker bug, not a job's) when a session dir is not `<base>/session-<id>`. */
export function assertSessionDir(sessionDir: string): void {
  if (!isAbsolute(sessionDir) || normalize(sessionDir) !== sessionDir || sessionDir.endsWith("/")) {
    throw new Error(`sandbox: session dir must be a normalised absolute path, got ${JSON.stringify(sessionDir)}`);
  }
  if (!basename(sessionDir).startsWith("session-") || /[\0\n]/.test(sessionDir)) {
    throw new Error(`sandbox: session dir must be named session-<id>, got ${JSON.stringify(sessionDir)}`);
  }
}

/*
 * The directory calls below are synchronous on purpose: a handful of mkdir/chown syscalls take
 * microseconds, while each async call is a thread-pool round trip, and at job start those add up
 * to milliseconds on every job.
 */

/** The base dir is the worker's: 0700, so no other host user can even list the sessions. */
export function ensureBaseDir(sessionDir: string): void {
  mkdirSync(dirname(sessionDir), { recursive: true, mode: 0o700 });
}

/** Creates the four subdirs (0700), owned by `owner` when the job runs as another uid. */
export function createSubdirs(sessionDir: string, owner?: { uid: number; gid: number }): void {
  for (const name of SESSION_SUBDIRS) {
    const dir = join(sessionDir, name);
    mkdirSync(dir, { mode: 0o700 });
    if (owner) chownSync(dir, owner.uid, owner.gid);
  }
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

/** The drivers delete session trees with the worker's one removal routine (deeper than PATH_MAX, never following a link). */
export { removeTree };

/** Where discarded session trees wait for their deletion: `<base>/.trash-session-<id>`. */
const TRASH_PREFIX = ".trash-";

/**
 * Takes a session tree out of the way at once (one rename) and deletes it in the background: the
 * session path is gone before the job's result is published, and a job that left 10^5 files does
 * not delay it. A tree the worker did not finish deleting (a crash) is removed by the next sweep.
 */
export function discardTree(dir: string): void {
  const trash = join(dirname(dir), `${TRASH_PREFIX}${basename(dir)}`);
  try {
    renameSync(dir, trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  void removeTree(trash).catch(() => {});
}

/** `.trash-session-*` entries a previous worker left mid-deletion. */
export async function listTrash(baseDir: string): Promise<string[]> {
  try {
    return (await readdir(baseDir)).filter((name) => name.startsWith(`${TRASH_PREFIX}session-`)).map((name) => join(baseDir, name));
  } catch {
    return [];
  }
}
