import { chmodSync, constants, copyFileSync, lchownSync, lstatSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../config/errno-code.js";
import { WorkerError, invalidArgument } from "../errors.js";
import { EventLoopPacer } from "../files/event-loop-pacer.js";
import { removeTree } from "../files/remove-tree.js";
import type { ManifestEntry } from "./validate-workspace.js";
import type { ScopedBlobs } from "./workspace-blobs.js";

/** What lstat said of a materialized file once it was ready: if it still says so after the job, the job left it alone. */
export interface FileIdentity {
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly mode: bigint;
}

const COPY_FLAGS = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;

/**
 * PREPARE's materializing of a manifest into the fresh work dir, before JobSpec.files are written:
 * directories (0755), then files copied from the blob store, then links, all owned by `owner`.
 * Returns each file's identity after its last change, keyed by path, for diff-workspace.ts.
 *
 * The guarantees of files/write-inputs.ts hold:
 * - nothing is written through a link: validation made sure no entry is a directory on another's
 *   way, so every directory on a path is one this call made (mkdir fails on anything existing but a
 *   directory); files are created by copyFile's O_CREAT|O_EXCL, which neither follows nor reuses
 *   what is there; links come last and are never followed (lchown), so none can redirect a later write;
 * - modes are exactly the manifest's (sanitized at validation), whatever the worker's umask and the
 *   blob's own mode;
 * - all or nothing: on a failure everything this call created is removed again.
 * `present` names directories already there, which are kept (a synced tree's: sync-lower-tree.ts, whose
 * caller wipes the whole tree on a failure, since the rollback then leaves what was made inside them).
 * Nothing of the job runs during PREPARE, which is what makes resolving these paths safe (as for
 * write-inputs.ts). The calls are synchronous, paced (event-loop-pacer.ts): on the session's tmpfs a
 * copy is a few microseconds of kernel work, and a thread-pool round trip per call costs more than the copy.
 *
 * Thrown as WorkerError: INVALID_ARGUMENT (field `workspace`) when the files do not fit the session's
 * disk, INTERNAL otherwise.
 */
export async function materializeWorkspace(
  workDir: string,
  entries: readonly ManifestEntry[],
  blobs: Pick<ScopedBlobs, "pathOf">,
  owner?: { readonly uid: number; readonly gid: number },
  present: ReadonlySet<string> = new Set(),
): Promise<Map<string, FileIdentity>> {
  const identities = new Map<string, FileIdentity>();
  const created = new Set<string>();
  const pacer = new EventLoopPacer();
  let current = "";
  try {
    // Sorted, so every parent comes before what it holds.
    for (const directory of [...directoriesOf(entries)].sort()) {
      if (present.has(directory)) continue;
      current = directory;
      const full = join(workDir, directory);
      mkdirSync(full, { mode: 0o700 });
      noteCreated(created, directory, present);
      if (owner) lchownSync(full, owner.uid, owner.gid);
      chmodSync(full, 0o755);
      await pacer.pace();
    }
    for (const entry of entries) {
      if (entry.kind !== "file") continue;
      current = entry.path;
      const full = join(workDir, entry.path);
      copyFileSync(blobs.pathOf(entry.digest), full, COPY_FLAGS);
      noteCreated(created, entry.path, present);
      if (owner) lchownSync(full, owner.uid, owner.gid);
      chmodSync(full, entry.mode);
      identities.set(entry.path, identityOf(full));
      await pacer.pace();
    }
    for (const entry of entries) {
      if (entry.kind !== "link") continue;
      current = entry.path;
      const full = join(workDir, entry.path);
      symlinkSync(entry.target, full);
      noteCreated(created, entry.path, present);
      if (owner) lchownSync(full, owner.uid, owner.gid);
      await pacer.pace();
    }
  } catch (error) {
    // Only the top-level names this call made: removeTree never follows a link.
    await Promise.all([...created].map((name) => removeTree(join(workDir, name))));
    throw failure(error, current);
  }
  return identities;
}

/** Every directory on the way to the entries. */
export function directoriesOf(entries: Iterable<ManifestEntry>): Set<string> {
  const directories = new Set<string>();
  for (const { path } of entries) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) directories.add(path.slice(0, slash));
  }
  return directories;
}

/** An lstat (bigint, so nanoseconds and inode numbers are exact) of what is at `path`. */
export function identityOf(path: string | Buffer): FileIdentity {
  const stats = lstatSync(path, { bigint: true });
  return { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs, mode: stats.mode };
}

/** Remembers the top-level name of what was created, which a rollback removes with all it holds (never one of `present`). */
function noteCreated(created: Set<string>, path: string, present: ReadonlySet<string>): void {
  const slash = path.indexOf("/");
  const top = slash === -1 ? path : path.slice(0, slash);
  if (!present.has(top)) created.add(top);
}

function failure(error: unknown, path: string): WorkerError {
  if (error instanceof WorkerError) return error;
  const code = errnoCode(error);
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
    return invalidArgument("workspace", "does not fit in the session's disk; send less or raise limits.max_disk_bytes");
  }
  return new WorkerError(
    "INTERNAL",
    `workspace: ${JSON.stringify(path)} could not be materialized (${code})`,
    { field: "workspace" },
    { cause: error },
  );
}
