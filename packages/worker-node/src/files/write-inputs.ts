import { constants } from "node:fs";
import { lstat, mkdir, open, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../config/errno-code.js";
import { WorkerError, invalidArgument } from "../errors.js";

/** An input file that passed the path guard (security/path-guard.ts): ready to be written. */
export interface ValidatedFile {
  /** Normalised, relative, '/'-separated. */
  readonly path: string;
  readonly content: Buffer;
  /** Permission bits only (setuid, setgid and sticky stripped). */
  readonly mode: number;
}

/**
 * PREPARE's write of the input files into the work dir: all or nothing, never through a link.
 *
 * The work dir is fresh, but a hostile earlier step or a race could have planted a symlink, so:
 * - every directory on the way is created (or found) one segment at a time and opened with
 *   O_DIRECTORY|O_NOFOLLOW: a link there fails instead of being followed, and what we created is
 *   chmod/chown'ed through that descriptor, not by path;
 * - every file is opened with O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, so nothing existing is reused or
 *   followed, then written, chown'ed and chmod'ed through its descriptor (the mode is set exactly,
 *   whatever the worker's umask);
 * - on any failure everything this call created is removed again, files first, deepest first, and
 *   only where its parents are still real directories (a rollback must not follow a link either).
 * Node has no openat(), so a component could in theory be swapped between its check and the next
 * open; nothing of the job runs during PREPARE, which is what makes that window empty in practice
 * (a `nosymfollow` mount of the session closes it in the kernel).
 *
 * Thrown as WorkerError: INVALID_ARGUMENT naming the file (or `cwd`) when the input is at fault (the
 * cwd is one of the files, the files do not fit on the session's disk), INTERNAL otherwise.
 */
export async function writeInputs(
  workDir: string,
  files: readonly ValidatedFile[],
  owner?: { readonly uid: number; readonly gid: number },
  cwd = "",
): Promise<void> {
  // Nothing to write: the driver has just made the work dir, and checking it costs three round trips.
  if (files.length === 0 && cwd === "") return;
  const clash = files.find((file) => cwd === file.path || cwd.startsWith(`${file.path}/`));
  if (clash) throw invalidArgument("cwd", `must be a directory, but files[${JSON.stringify(clash.path)}] is a file on its path`);
  const writer = new InputWriter(workDir, owner);
  try {
    await writer.directory("", "work dir");
    for (const file of files) {
      const field = `files[${JSON.stringify(file.path)}]`;
      await writer.parents(file.path, field);
      await writer.file(file, field);
    }
    if (cwd !== "") await writer.parents(`${cwd}/`, "cwd");
  } catch (error) {
    await writer.rollback();
    throw error;
  }
}

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

class InputWriter {
  /** Relative paths this call created, in creation order. */
  private readonly created: { path: string; directory: boolean }[] = [];
  /** Relative directories already checked to be real directories. */
  private readonly checked = new Set<string>();

  constructor(
    private readonly workDir: string,
    private readonly owner: { readonly uid: number; readonly gid: number } | undefined,
  ) {}

  /** Every directory above `path` (everything before its last "/"). */
  async parents(path: string, field: string): Promise<void> {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      await this.directory(path.slice(0, slash), field);
    }
  }

  async directory(path: string, field: string): Promise<void> {
    if (this.checked.has(path)) return;
    const full = join(this.workDir, path);
    let created = false;
    if (path !== "") {
      try {
        // 0700 until it is ours and checked; then 0755 through the descriptor.
        await mkdir(full, { mode: 0o700 });
        created = true;
        this.created.push({ path, directory: true });
      } catch (error) {
        if (errnoCode(error) !== "EEXIST") throw this.failure(error, field, path);
      }
    }
    let handle;
    try {
      handle = await open(full, DIRECTORY_FLAGS);
    } catch (error) {
      throw this.failure(error, field, path || ".");
    }
    try {
      if (!(await handle.stat()).isDirectory()) throw internal(field, `${path || "."} is not a directory`);
      if (created) {
        if (this.owner) await handle.chown(this.owner.uid, this.owner.gid);
        await handle.chmod(0o755);
      }
    } catch (error) {
      throw this.failure(error, field, path);
    } finally {
      await handle.close();
    }
    this.checked.add(path);
  }

  async file(file: ValidatedFile, field: string): Promise<void> {
    let handle;
    try {
      handle = await open(join(this.workDir, file.path), FILE_FLAGS, 0o600);
    } catch (error) {
      throw this.failure(error, field, file.path);
    }
    this.created.push({ path: file.path, directory: false });
    try {
      await handle.writeFile(file.content);
      if (this.owner) await handle.chown(this.owner.uid, this.owner.gid);
      await handle.chmod(file.mode);
    } catch (error) {
      throw this.failure(error, field, file.path);
    } finally {
      await handle.close();
    }
  }

  /** Best effort: a failure to remove one entry must not hide the error that caused the rollback. */
  async rollback(): Promise<void> {
    for (const entry of this.created.reverse()) {
      try {
        if (!(await this.parentsAreReal(entry.path))) continue;
        const full = join(this.workDir, entry.path);
        await (entry.directory ? rmdir(full) : unlink(full));
      } catch {
        // Left for DESTROY, which removes the whole session dir.
      }
    }
  }

  private async parentsAreReal(path: string): Promise<boolean> {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const stats = await lstat(join(this.workDir, path.slice(0, slash)));
      if (!stats.isDirectory()) return false;
    }
    return true;
  }

  private failure(error: unknown, field: string, path: string): WorkerError {
    if (error instanceof WorkerError) return error;
    switch (errnoCode(error)) {
      case "ELOOP":
        return internal(field, `${path} is a symbolic link in the work dir; refusing to follow it`, error);
      case "EEXIST":
        return internal(field, `${path} already exists in the fresh work dir; refusing to reuse it`, error);
      case "ENOTDIR":
        return internal(field, `a parent of ${path} in the work dir is not a directory`, error);
      case "ENOSPC":
      case "EDQUOT":
      case "EFBIG":
        return invalidArgument(field, "does not fit in the session's disk; send less or raise limits.max_disk_bytes");
      default:
        return internal(field, `could not be written (${errnoCode(error)})`, error);
    }
  }
}

function internal(field: string, message: string, cause?: unknown): WorkerError {
  return new WorkerError("INTERNAL", `${field}: ${message}`, { field }, { cause });
}
