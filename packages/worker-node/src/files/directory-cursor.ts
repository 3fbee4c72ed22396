import { closeSync, constants, fstatSync, lstatSync, openSync, opendirSync, type Dirent, type Stats } from "node:fs";
import { errnoCode } from "../config/errno-code.js";

/** A directory of the walk: where it is under the walk's root, and which inode it was once entered. */
export interface Directory {
  /** Relative to the root, '/'-separated, for results and messages; "" for the root itself. */
  readonly path: string;
  /** Its one name in its parent, as the bytes readdir gave (never empty, ".", ".." or containing '/'). */
  readonly name: Buffer;
  /** Undefined only for the root. */
  readonly parent: Directory | undefined;
  /** dev/ino of the descriptor the walk held on it, recorded when it was entered. */
  identity?: { readonly dev: number; readonly ino: number };
}

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const DOT_DOT = Buffer.from("..");

/**
 * The walk's one open directory, moved through the tree one name at a time, so no path the job shaped
 * is ever resolved (COLLECT reads with it, files/remove-tree.ts deletes with it): Node has no openat, but `/proc/self/fd/<fd>/<name>` is looked up from that open
 * directory in O(1) whatever the depth, and never reaches PATH_MAX (a 1,000-deep tree with
 * 10-character names is 11,000 bytes long; realpath of each directory made the walk quadratic).
 * - Down: the child's lstat must be a directory, its O_NOFOLLOW|O_DIRECTORY open must show the same
 *   dev/ino, so a link is never followed.
 * - Up: through "..", which must be the very directory the walk came down from (its recorded dev/ino).
 * Each directory is entered once and left once in a depth-first walk: linear, and one descriptor
 * held however deep the tree (plus what the caller opens through `inside`). Names are bytes, so a
 * name that is not UTF-8 is reached as well as any other.
 */
export class DirectoryCursor {
  private constructor(
    private at: Directory,
    private fd: number,
  ) {}

  /** Opens the walk's root; throws its errno (ENOTDIR for a link or a file) when it cannot be. */
  static open(rootDir: string): DirectoryCursor {
    const fd = openSync(rootDir, DIRECTORY_FLAGS);
    const root: Directory = { path: "", name: Buffer.alloc(0), parent: undefined, identity: identityOf(fstatSync(fd)) };
    return new DirectoryCursor(root, fd);
  }

  get directory(): Directory {
    return this.at;
  }

  /** A path that names `name` inside the current directory (the directory itself without one), whatever its depth. */
  inside(name?: Buffer): Buffer {
    const directory = Buffer.from(`/proc/self/fd/${this.fd}/`);
    return name === undefined ? directory : Buffer.concat([directory, name]);
  }

  /**
   * The current directory's entries, sorted by name (so what a capped walk keeps does not depend on the
   * file system's order), `pace` awaited after each. Throws the errno when the directory cannot be read.
   */
  async entries(pace: () => Promise<void>): Promise<Dirent<Buffer>[]> {
    const entries: Dirent<Buffer>[] = [];
    // Node reads names as bytes with encoding "buffer"; @types/node 20 declares neither the option nor
    // the Buffer names it yields for opendir, hence the casts.
    const handle = opendirSync(this.inside(), { encoding: "buffer" as BufferEncoding });
    try {
      for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
        entries.push(entry as unknown as Dirent<Buffer>);
        await pace();
      }
    } finally {
      handle.closeSync();
    }
    return entries.sort((a, b) => Buffer.compare(a.name, b.name));
  }

  /**
   * Moves onto `target`, a child of the current directory or of one of its ancestors (the depth-first
   * order guarantees it). Returns why it cannot be entered, or undefined once the cursor is there; on
   * a refusal the cursor stays on a directory it verified.
   */
  moveTo(target: Directory): string | undefined {
    if (target.parent === undefined) return target === this.at ? undefined : "not in this walk";
    try {
      return this.climbTo(target.parent) ?? this.descendInto(target);
    } catch (error) {
      return `directory cannot be read (${errnoCode(error)})`;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * Moves up onto `ancestor` of the current directory, through "..". Returns why it cannot, or
   * undefined once the cursor is there; throws the errno of a directory that cannot be opened.
   */
  climbTo(ancestor: Directory): string | undefined {
    while (this.at !== ancestor) {
      const parent = this.at.parent;
      if (parent?.identity === undefined) return "not in this walk";
      if (!this.settle(parent, openSync(this.inside(DOT_DOT), DIRECTORY_FLAGS), parent.identity)) return "directory moved while being read";
    }
    return undefined;
  }

  private descendInto(target: Directory): string | undefined {
    const path = this.inside(target.name);
    const expected = lstatSync(path);
    if (!expected.isDirectory()) return kindOf(expected);
    return this.settle(target, openSync(path, DIRECTORY_FLAGS), expected) ? undefined : "changed while being read";
  }

  /** Makes `fd` the cursor, on `directory`, if it is the inode expected; otherwise closes it. */
  private settle(directory: Directory, fd: number, expected: { dev: number; ino: number }): boolean {
    let stats: Stats;
    try {
      stats = fstatSync(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (stats.dev !== expected.dev || stats.ino !== expected.ino) {
      closeSync(fd);
      return false;
    }
    closeSync(this.fd);
    directory.identity = identityOf(stats);
    this.at = directory;
    this.fd = fd;
    return true;
  }
}

function identityOf(stats: Stats): { dev: number; ino: number } {
  return { dev: stats.dev, ino: stats.ino };
}

/** The reason a non-regular entry is skipped, named by its lstat-level type (an lstat, an fstat, or readdir's). */
export function kindOf(
  stats: Pick<Stats, "isSymbolicLink" | "isDirectory" | "isFIFO" | "isSocket" | "isCharacterDevice" | "isBlockDevice">,
): string {
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isDirectory()) return "directory";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isCharacterDevice()) return "character device";
  if (stats.isBlockDevice()) return "block device";
  return "not a regular file";
}
