import { compileGlob } from "@opencode-worker/shared";
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
  type Dirent,
  type Stats,
} from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../config/errno-code.js";
import { DirectoryCursor, kindOf, type Directory } from "./directory-cursor.js";
import { EventLoopPacer } from "./event-loop-pacer.js";

/**
 * COLLECT's read of a hostile job's outputs. Called only once the job's whole process tree is dead, so
 * nothing changes under us on purpose; every check still assumes the tree was built to trick us:
 * - the walk uses lstat-level types only (readdir's d_type or lstat, never stat): a symlink is skipped
 *   ("symlink"), whatever it points to, and a directory is entered only from its parent's open
 *   descriptor, by its one name, O_NOFOLLOW|O_DIRECTORY with its lstat's dev/ino (files/directory-cursor.ts):
 *   no path is resolved through the job's tree, so the walk is linear in the entries it visits and
 *   deeper than PATH_MAX is no problem;
 * - only regular files are taken; FIFOs, sockets and devices are skipped with their kind, never opened;
 * - each file readdir calls regular is opened from the cursor's descriptor O_RDONLY|O_NOFOLLOW|O_NONBLOCK
 *   (a swapped-in link fails, a FIFO cannot block us), and that descriptor's fstat must show a regular
 *   file with one link (a hard link could be a host file: "hard link"). An lstat first would add a
 *   syscall per file and no safety: whatever it saw could still be swapped before the open;
 * - sizes come from that fstat before anything is read, so a huge sparse file is refused by the caps,
 *   and a file that yields more or fewer bytes than it said is refused;
 * - content is read from that descriptor once, and hashed as it is read: a file of at most
 *   `inlineBytes` is held in memory (the result's inline content, and what ReadArtifact serves), a
 *   larger one is copied into `storeDir/<index>` (names never chosen by the job), so a job's 10,000
 *   small files cost no 10,000 files on the worker's disk;
 * - the walk is iterative, so a deep tree cannot exhaust the stack, and names that are not UTF-8 are
 *   skipped ("name is not UTF-8") since results carry paths as protobuf strings.
 * Caps skip with a reason naming the config key and keep what was collected so far. So does a store
 * that cannot be written (full): the file being copied and every later file that needs the store are
 * skipped with the reason, and `storeFailure` counts them for the result's message.
 */
export type CollectedArtifact = {
  /** Relative to the output dir, '/'-separated. */
  readonly path: string;
  readonly sizeBytes: number;
  /** Hex sha256 of the content. */
  readonly sha256: string;
} & (
  | {
      /** The whole content, when it is at most `inlineBytes`: held in memory, never stored. */
      readonly content: Buffer;
      readonly storedPath?: undefined;
    }
  | {
      /** The worker's copy, in storeDir, of a file larger than `inlineBytes`. */
      readonly storedPath: string;
      readonly content?: undefined;
    }
);

export interface SkippedArtifact {
  readonly path: string;
  readonly reason: string;
}

export interface CollectedArtifacts {
  readonly artifacts: CollectedArtifact[];
  readonly skipped: SkippedArtifact[];
  /** Set when the worker's store could not be written: why, and how many selected files it cost. */
  readonly storeFailure?: { readonly reason: string; readonly files: number };
}

export interface CollectOptions {
  /** Glob patterns (shared/src/glob-match.ts); empty selects every regular file. */
  readonly patterns: readonly string[];
  /** session.max_artifacts */
  readonly maxArtifacts: number;
  /** session.max_artifact_bytes */
  readonly maxArtifactBytes: number;
  /** session.max_artifacts_total_bytes */
  readonly maxTotalBytes: number;
  /** session.artifact_inline_bytes: files up to this size are held in memory, larger ones stored. */
  readonly inlineBytes: number;
  /** Created 0700 when the first file is stored; must be the worker's own directory, outside the session. */
  readonly storeDir: string;
}

/** Skipped entries listed one by one; beyond this they are counted in one last entry (results stay small). */
const MAX_LISTED_SKIPS = 1000;
const CHUNK_BYTES = 1024 * 1024;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const STORE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Never throws for what the job left or for the worker's store: every selected file ends up collected
 * or skipped with its reason.
 *
 * The file system calls are synchronous, in slices between turns of the event loop (event-loop-pacer.ts).
 */
export async function collectArtifacts(outputDir: string, options: CollectOptions): Promise<CollectedArtifacts> {
  const collector = new Collector(options);
  await collector.walk(outputDir);
  return collector.result();
}

/** Undefined when the store is ready, else why nothing can be kept in it. */
function prepareStore(storeDir: string): string | undefined {
  try {
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    return lstatSync(storeDir).isDirectory() ? undefined : storeFailureReason("ENOTDIR");
  } catch (error) {
    return storeFailureReason(errnoCode(error));
  }
}

/** The skip reason for every file the worker could not keep: the operator's problem, not the job's. */
function storeFailureReason(code: string): string {
  return code === "ENOSPC" || code === "EDQUOT"
    ? `not kept: the worker's artifact store is full (${code}); the worker's operator must free space under session.base_dir`
    : `not kept: the worker's artifact store cannot be written (${code}); the worker's operator must check session.base_dir`;
}

/** Thrown inside a copy when the store, not the job's file, failed. */
class StoreError extends Error {
  constructor(readonly code: string) {
    super(`artifact store cannot be written (${code})`);
  }
}

/** A copy's outcome; `unstored` is the store failing, which ends the copies of this walk. */
type Copied = { readonly artifact: CollectedArtifact } | { readonly skip: string } | { readonly unstored: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

class Collector {
  private readonly artifacts: CollectedArtifact[] = [];
  private readonly skipped: SkippedArtifact[] = [];
  private unlistedSkips = 0;
  private totalBytes = 0;
  private readonly matchers: ((path: string) => boolean)[];
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private readonly pacer = new EventLoopPacer();
  /** Set once the store dir exists: a job whose files are all held in memory never creates it. */
  private storeReady = false;
  /** Why the store cannot be written, once it could not: every later file that needs it is skipped with it. */
  private storeFailure: string | undefined;
  /** Selected files skipped for `storeFailure`. */
  private unstored = 0;

  constructor(private readonly options: CollectOptions) {
    this.matchers = options.patterns.map(compileGlob);
  }

  result(): CollectedArtifacts {
    const skipped = [...this.skipped];
    if (this.unlistedSkips > 0)
      skipped.push({ path: "...", reason: `${this.unlistedSkips} more files skipped (only the first ${MAX_LISTED_SKIPS} are listed)` });
    return {
      artifacts: this.artifacts,
      skipped,
      ...(this.storeFailure !== undefined && this.unstored > 0 && { storeFailure: { reason: this.storeFailure, files: this.unstored } }),
    };
  }

  async walk(outputDir: string): Promise<void> {
    let cursor: DirectoryCursor;
    try {
      cursor = DirectoryCursor.open(outputDir);
    } catch (error) {
      const code = errnoCode(error);
      return this.skip(
        ".",
        code === "ENOTDIR" || code === "ELOOP"
          ? "the output dir is not a directory (replaced by a link or a file)"
          : `the output dir cannot be read (${code})`,
      );
    }
    try {
      // Depth-first: each directory popped is a child of the cursor's directory or of one of its
      // ancestors, which is where the cursor can go in one climb and one step down.
      const pending = [cursor.directory];
      for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
        const refusal = cursor.moveTo(directory);
        if (refusal !== undefined) {
          this.skip(directory.path, refusal);
          continue;
        }
        const subdirectories: Directory[] = [];
        for (const entry of await this.entries(cursor)) {
          const name = this.decodeName(directory, entry.name);
          if (name === undefined) continue;
          const path = directory.path === "" ? name : `${directory.path}/${name}`;
          if (entry.isDirectory()) subdirectories.push({ path, name: entry.name, parent: directory });
          else if (this.selected(path)) await this.collect(path, cursor.inside(entry.name), entry);
          await this.pacer.pace();
        }
        // Reversed onto the stack, so subdirectories are walked in name order after the files
        // (one push each: spreading 10^5 arguments would overflow the call stack).
        for (let index = subdirectories.length - 1; index >= 0; index--) pending.push(subdirectories[index]!);
      }
    } finally {
      cursor.close();
    }
  }

  /** The current directory's entries by name; none (and a skip) when it cannot be read. */
  private async entries(cursor: DirectoryCursor): Promise<Dirent<Buffer>[]> {
    try {
      return await cursor.entries(() => this.pacer.pace());
    } catch (error) {
      this.skip(cursor.directory.path || ".", `directory cannot be read (${errnoCode(error)})`);
      return [];
    }
  }

  /** The entry's name as text, or undefined (skipped) when it is not UTF-8. */
  private decodeName(directory: Directory, name: Buffer): string | undefined {
    try {
      return utf8.decode(name);
    } catch {
      this.skip(directory.path === "" ? lossy.decode(name) : `${directory.path}/${lossy.decode(name)}`, "name is not UTF-8");
      return undefined;
    }
  }

  private selected(path: string): boolean {
    return this.matchers.length === 0 || this.matchers.some((matches) => matches(path));
  }

  /** Collects or skips one entry: `entry` is what readdir gave for it, its type the entry's own (lstat-level). */
  private async collect(path: string, full: Buffer, entry: Dirent<Buffer>): Promise<void> {
    if (!entry.isFile()) return this.skip(path, kindOf(entry));
    const { maxArtifacts } = this.options;
    // Before opening: a job's 100,000 files past the cap cost one check each, not three syscalls.
    if (this.artifacts.length >= maxArtifacts) return this.skip(path, `session.max_artifacts (${maxArtifacts}) reached`);
    let source: number;
    try {
      source = openSync(full, READ_FLAGS);
    } catch (error) {
      return this.skip(path, errnoCode(error) === "ELOOP" ? "symlink" : `cannot be opened (${errnoCode(error)})`);
    }
    try {
      let stats: Stats;
      try {
        stats = fstatSync(source);
      } catch (error) {
        return this.skip(path, `cannot be examined (${errnoCode(error)})`);
      }
      await this.take(path, source, stats);
    } finally {
      closeSync(source);
    }
  }

  /** Collects or skips the file open on `source`, judged by that descriptor's fstat before anything is read. */
  private async take(path: string, source: number, stats: Stats): Promise<void> {
    const refusal = this.refusal(stats);
    if (refusal !== undefined) return this.skip(path, refusal);
    const held = stats.size <= this.options.inlineBytes;
    const unwritable = held ? undefined : this.storeUnwritable();
    if (unwritable !== undefined) return this.skipUnstored(path, unwritable);
    // The caps count what is in flight, so a file that fails later gives its share back.
    this.totalBytes += stats.size;
    const copied = await this.copy(path, source, stats.size, held);
    if ("artifact" in copied) {
      this.artifacts.push(copied.artifact);
      return;
    }
    this.totalBytes -= stats.size;
    if ("skip" in copied) return this.skip(path, copied.skip);
    this.storeFailure = copied.unstored;
    this.skipUnstored(path, copied.unstored);
  }

  /** Why the file of this fstat is not collected, or undefined to collect it. */
  private refusal(stats: Stats): string | undefined {
    // Readdir said regular file; a swap since then is seen here, on what was really opened.
    if (!stats.isFile()) return kindOf(stats);
    // A hard link could be a host file.
    if (stats.nlink > 1) return "hard link";
    const { maxArtifactBytes, maxTotalBytes } = this.options;
    if (stats.size > maxArtifactBytes) return `${stats.size} bytes, more than session.max_artifact_bytes (${maxArtifactBytes})`;
    if (this.totalBytes + stats.size > maxTotalBytes) return `session.max_artifacts_total_bytes (${maxTotalBytes}) reached`;
    return undefined;
  }

  /** Undefined once the store dir is ready; else why nothing can be stored (then and from then on). */
  private storeUnwritable(): string | undefined {
    if (!this.storeReady && this.storeFailure === undefined) {
      this.storeFailure = prepareStore(this.options.storeDir);
      this.storeReady = this.storeFailure === undefined;
    }
    return this.storeFailure;
  }

  /** Reads the content once: held in memory, or copied into the store. */
  private async copy(path: string, source: number, size: number, held: boolean): Promise<Copied> {
    const found = { path, sizeBytes: size };
    try {
      if (held) {
        const content = Buffer.allocUnsafe(size);
        const sha256 = await this.readContent(source, size, (chunk, offset) => chunk.copy(content, offset));
        return sha256 ? { artifact: { ...found, sha256, content } } : { skip: "changed while being collected" };
      }
      // Named by position, never by anything the job chose.
      const storedPath = join(this.options.storeDir, String(this.artifacts.length));
      const sha256 = await this.storeContent(source, size, storedPath);
      return sha256 ? { artifact: { ...found, sha256, storedPath } } : { skip: "changed while being collected" };
    } catch (error) {
      if (error instanceof StoreError) return { unstored: storeFailureReason(error.code) };
      return { skip: `cannot be read (${errnoCode(error)})` };
    }
  }

  /** Copies the file into the store while hashing it; its sha256, or undefined when it is not the size fstat said. */
  private async storeContent(source: number, size: number, storedPath: string): Promise<string | undefined> {
    let store: number;
    try {
      store = openSync(storedPath, STORE_FLAGS, 0o600);
    } catch (error) {
      throw new StoreError(errnoCode(error));
    }
    let sha256: string | undefined;
    try {
      sha256 = await this.readContent(source, size, (chunk) => writeAll(store, chunk));
    } finally {
      closeSync(store);
      if (sha256 === undefined) unlinkSync(storedPath);
    }
    return sha256;
  }

  /**
   * One read pass: hashes the file and hands `keep` each chunk with its offset. Returns the hex
   * sha256, or undefined when the file is not the size fstat said.
   */
  private async readContent(source: number, size: number, keep: (chunk: Buffer, offset: number) => void): Promise<string | undefined> {
    const hash = createHash("sha256");
    let total = 0;
    for (;;) {
      // Asking for one byte past the expected end notices a file that grew; a short read is its end.
      const wanted = Math.min(this.buffer.length, size + 1 - total);
      const bytesRead = readSync(source, this.buffer, 0, wanted, null);
      if (total + bytesRead > size) return undefined;
      const chunk = this.buffer.subarray(0, bytesRead);
      hash.update(chunk);
      keep(chunk, total);
      total += bytesRead;
      if (bytesRead < wanted) break;
      await this.pacer.pace();
    }
    return total === size ? hash.digest("hex") : undefined;
  }

  private skipUnstored(path: string, reason: string): void {
    this.unstored++;
    this.skip(path, reason);
  }

  private skip(path: string, reason: string): void {
    if (this.skipped.length < MAX_LISTED_SKIPS) this.skipped.push({ path, reason });
    else this.unlistedSkips++;
  }
}

function writeAll(store: number, chunk: Buffer): void {
  try {
    for (let written = 0; written < chunk.length;) written += writeSync(store, chunk, written);
  } catch (error) {
    throw new StoreError(errnoCode(error));
  }
}
