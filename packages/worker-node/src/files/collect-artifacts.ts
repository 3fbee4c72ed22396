import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  opendirSync,
  readSync,
  realpathSync,
  unlinkSync,
  writeSync,
  type Dir,
  type Dirent,
  type Stats,
} from "node:fs";
import { join } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { errnoCode } from "../config/errno-code.js";
import { WorkerError } from "../errors.js";
import { compileGlob } from "./glob-match.js";

/**
 * COLLECT's read of a hostile job's outputs. Called only once the job's whole process tree is dead, so
 * nothing changes under us on purpose; every check still assumes the tree was built to trick us:
 * - the walk uses lstat-level types only (readdir's d_type or lstat, never stat): a symlink is skipped
 *   ("symlink"), whatever it points to, and a directory is entered only if it is a real directory
 *   whose realpath is exactly where the walk expects it inside the output dir;
 * - only regular files are taken; FIFOs, sockets and devices are skipped with their kind;
 * - each candidate is opened O_RDONLY|O_NOFOLLOW|O_NONBLOCK (a swapped-in link fails, a FIFO cannot
 *   block us), and the descriptor's fstat must show a regular file with the lstat's dev/ino and one link
 *   (a hard link could be a host file: "hard link");
 * - sizes come from lstat before anything is read, so a huge sparse file is refused by the caps, and a
 *   file that yields more or fewer bytes than it said is refused;
 * - content is copied from that descriptor into `storeDir/<index>` (names never chosen by the job)
 *   while it is hashed: one read pass;
 * - the walk is iterative, so a deep tree cannot exhaust the stack, and names that are not UTF-8 are
 *   skipped ("name is not UTF-8") since results carry paths as protobuf strings.
 * Caps skip with a reason naming the config key and keep what was collected so far.
 */
export interface CollectedArtifact {
  /** Relative to the output dir, '/'-separated. */
  readonly path: string;
  readonly sizeBytes: number;
  /** Hex sha256 of the content. */
  readonly sha256: string;
  /** The content, when it is at most `inlineBytes`. */
  readonly content?: Buffer;
  /** The worker's copy, in storeDir. */
  readonly storedPath: string;
}

export interface SkippedArtifact {
  readonly path: string;
  readonly reason: string;
}

export interface CollectedArtifacts {
  readonly artifacts: CollectedArtifact[];
  readonly skipped: SkippedArtifact[];
}

export interface CollectOptions {
  /** Glob patterns (files/glob-match.ts); empty selects every regular file. */
  readonly patterns: readonly string[];
  /** session.max_artifacts */
  readonly maxArtifacts: number;
  /** session.max_artifact_bytes */
  readonly maxArtifactBytes: number;
  /** session.max_artifacts_total_bytes */
  readonly maxTotalBytes: number;
  /** session.artifact_inline_bytes */
  readonly inlineBytes: number;
  /** Created 0700 if missing; must be the worker's own directory, outside the session. */
  readonly storeDir: string;
}

/** Skipped entries listed one by one; beyond this they are counted in one last entry (results stay small). */
const MAX_LISTED_SKIPS = 1000;
const CHUNK_BYTES = 1024 * 1024;
/** The walk gives the event loop a turn at least this often (milliseconds). */
const SLICE_MS = 5;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const STORE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Thrown as WorkerError INTERNAL only when the worker's own store cannot be written.
 *
 * The file system calls are synchronous, in slices of at most SLICE_MS between turns of the event
 * loop: on the session's tmpfs a synchronous call costs microseconds, while each fs.promises call
 * costs ten times more in thread-pool round trips (100,000 files took 16 s that way, about 3 s so).
 */
export async function collectArtifacts(outputDir: string, options: CollectOptions): Promise<CollectedArtifacts> {
  prepareStore(options.storeDir);
  const collector = new Collector(options);
  await collector.walk(outputDir);
  return collector.result();
}

function prepareStore(storeDir: string): void {
  try {
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    if (!lstatSync(storeDir).isDirectory()) throw new Error("not a directory");
  } catch (error) {
    throw new WorkerError("INTERNAL", `artifact store ${storeDir} cannot be used (${errnoCode(error)})`, {}, { cause: error });
  }
}

type Copied = { readonly artifact: CollectedArtifact } | { readonly skip: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

class Collector {
  private readonly artifacts: CollectedArtifact[] = [];
  private readonly skipped: SkippedArtifact[] = [];
  private unlistedSkips = 0;
  private totalBytes = 0;
  private readonly matchers: ((path: string) => boolean)[];
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private sliceStart = performance.now();

  constructor(private readonly options: CollectOptions) {
    this.matchers = options.patterns.map(compileGlob);
  }

  result(): CollectedArtifacts {
    const skipped = [...this.skipped];
    if (this.unlistedSkips > 0) skipped.push({ path: "...", reason: `${this.unlistedSkips} more files skipped (only the first ${MAX_LISTED_SKIPS} are listed)` });
    return { artifacts: this.artifacts, skipped };
  }

  async walk(outputDir: string): Promise<void> {
    let root: string;
    try {
      if (!lstatSync(outputDir).isDirectory()) return this.skip(".", "the output dir is not a directory (replaced by a link or a file)");
      root = realpathSync(outputDir);
    } catch (error) {
      return this.skip(".", `the output dir cannot be read (${errnoCode(error)})`);
    }
    const pending = [""];
    for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
      const full = directory === "" ? root : join(root, directory);
      const entries = await this.entries(directory, full);
      const subdirectories: string[] = [];
      for (const entry of entries) {
        const path = this.childPath(directory, entry.name);
        if (path === undefined) continue;
        if (entry.isDirectory()) subdirectories.push(path);
        else if (this.selected(path)) await this.collect(path, join(root, path));
        await this.pace();
      }
      // Reversed onto the stack, so subdirectories are walked in name order after the files.
      pending.push(...subdirectories.reverse());
    }
  }

  /** A directory's entries by name, or none when it is not where the walk expects it (a link on its path). */
  private async entries(directory: string, full: string): Promise<Dirent<Buffer>[]> {
    const entries: Dirent<Buffer>[] = [];
    let handle: Dir | undefined;
    try {
      if (directory !== "" && realpathSync(full) !== full) {
        this.skip(directory, "directory moved outside the output dir");
        return [];
      }
      // Node reads names as bytes with encoding "buffer"; @types/node 20 declares neither the option nor
      // the Buffer names it yields for opendir, hence the casts.
      handle = opendirSync(full, { encoding: "buffer" as BufferEncoding });
      for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
        entries.push(entry as unknown as Dirent<Buffer>);
        await this.pace();
      }
    } catch (error) {
      this.skip(directory || ".", `directory cannot be read (${errnoCode(error)})`);
    } finally {
      handle?.closeSync();
    }
    return entries.sort((a, b) => Buffer.compare(a.name, b.name));
  }

  private childPath(directory: string, name: Buffer): string | undefined {
    let text: string;
    try {
      text = utf8.decode(name);
    } catch {
      this.skip(directory === "" ? lossy.decode(name) : `${directory}/${lossy.decode(name)}`, "name is not UTF-8");
      return undefined;
    }
    return directory === "" ? text : `${directory}/${text}`;
  }

  private selected(path: string): boolean {
    return this.matchers.length === 0 || this.matchers.some((matches) => matches(path));
  }

  private async collect(path: string, full: string): Promise<void> {
    let stats: Stats;
    try {
      stats = lstatSync(full);
    } catch (error) {
      return this.skip(path, `cannot be examined (${errnoCode(error)})`);
    }
    const refusal = this.refusal(stats);
    if (refusal !== undefined) return this.skip(path, refusal);
    // The caps count what is in flight, so a file that fails later gives its share back.
    this.totalBytes += stats.size;
    const copied = await this.copy(path, full, stats);
    if ("artifact" in copied) {
      this.artifacts.push(copied.artifact);
    } else {
      this.totalBytes -= stats.size;
      this.skip(path, copied.skip);
    }
  }

  /** Why a file of this lstat is not collected, or undefined to collect it. */
  private refusal(stats: Stats): string | undefined {
    if (!stats.isFile()) return kindOf(stats);
    const { maxArtifacts, maxArtifactBytes, maxTotalBytes } = this.options;
    if (this.artifacts.length >= maxArtifacts) return `session.max_artifacts (${maxArtifacts}) reached`;
    if (stats.size > maxArtifactBytes) return `${stats.size} bytes, more than session.max_artifact_bytes (${maxArtifactBytes})`;
    if (this.totalBytes + stats.size > maxTotalBytes) return `session.max_artifacts_total_bytes (${maxTotalBytes}) reached`;
    return undefined;
  }

  private async copy(path: string, full: string, expected: Stats): Promise<Copied> {
    let source: number;
    try {
      source = openSync(full, READ_FLAGS);
    } catch (error) {
      return { skip: errnoCode(error) === "ELOOP" ? "symlink" : `cannot be opened (${errnoCode(error)})` };
    }
    try {
      const stats = fstatSync(source);
      if (!stats.isFile()) return { skip: kindOf(stats) };
      if (stats.dev !== expected.dev || stats.ino !== expected.ino) return { skip: "changed while being collected" };
      if (stats.nlink > 1) return { skip: "hard link" };
      // Named by position, never by anything the job chose.
      const storedPath = join(this.options.storeDir, String(this.artifacts.length));
      const copied = await this.copyContent(source, storedPath, expected.size);
      if (copied === undefined) return { skip: "changed while being collected" };
      return { artifact: { path, sizeBytes: expected.size, sha256: copied.sha256, storedPath, ...(copied.content ? { content: copied.content } : {}) } };
    } catch (error) {
      if (error instanceof WorkerError) throw error;
      return { skip: `cannot be read (${errnoCode(error)})` };
    } finally {
      closeSync(source);
    }
  }

  /** One pass: hash, store, and keep inline content. Undefined when the file is not the size lstat said. */
  private async copyContent(source: number, storedPath: string, size: number): Promise<{ sha256: string; content?: Buffer } | undefined> {
    let store: number;
    try {
      store = openSync(storedPath, STORE_FLAGS, 0o600);
    } catch (error) {
      throw new WorkerError("INTERNAL", `artifact store cannot be written (${errnoCode(error)})`, {}, { cause: error });
    }
    const hash = createHash("sha256");
    const inline = size <= this.options.inlineBytes ? Buffer.allocUnsafe(size) : undefined;
    let total = 0;
    let complete = false;
    try {
      for (;;) {
        // Asking for one byte past the expected end notices a file that grew; a short read is its end.
        const wanted = Math.min(this.buffer.length, size + 1 - total);
        const bytesRead = readSync(source, this.buffer, 0, wanted, null);
        if (total + bytesRead > size) return undefined;
        const chunk = this.buffer.subarray(0, bytesRead);
        hash.update(chunk);
        inline?.set(chunk, total);
        writeAll(store, chunk, storedPath);
        total += bytesRead;
        if (bytesRead < wanted) break;
        await this.pace();
      }
      complete = total === size;
    } finally {
      closeSync(store);
      if (!complete) unlinkSync(storedPath);
    }
    return complete ? { sha256: hash.digest("hex"), ...(inline ? { content: inline } : {}) } : undefined;
  }

  /** Gives the event loop a turn when this slice of synchronous work has run long enough. */
  private async pace(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.sliceStart = performance.now();
  }

  private skip(path: string, reason: string): void {
    if (this.skipped.length < MAX_LISTED_SKIPS) this.skipped.push({ path, reason });
    else this.unlistedSkips++;
  }
}

function writeAll(store: number, chunk: Buffer, storedPath: string): void {
  try {
    for (let written = 0; written < chunk.length; ) written += writeSync(store, chunk, written);
  } catch (error) {
    throw new WorkerError("INTERNAL", `artifact store ${storedPath} cannot be written (${errnoCode(error)})`, {}, { cause: error });
  }
}

/** The reason a non-regular entry is skipped, named by its lstat type. */
function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isDirectory()) return "directory";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isCharacterDevice()) return "character device";
  if (stats.isBlockDevice()) return "block device";
  return "not a regular file";
}
