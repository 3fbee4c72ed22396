import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, mkdirSync, openSync, read, readSync, renameSync, unlinkSync } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { formatBytes } from "@opencode-worker/shared";
import { WorkerError, invalidArgument } from "../errors.js";
import { EventLoopPacer } from "../files/event-loop-pacer.js";
import type { Caller } from "../session/caller.js";
import { ChunkedUpload, type BlobUpload, type VerifiedBlob } from "./blob-upload.js";
import { digestName, type Digest } from "./digest.js";
import { TempBlob, writeTempBlobSync } from "./temp-blob.js";

export type { Digest } from "./digest.js";
export type { BlobUpload } from "./blob-upload.js";

/** ReadBlob's chunk size, as ReadArtifact's. */
const READ_CHUNK_BYTES = 64 * 1024;
/** storeFile's copy buffer. */
const COPY_CHUNK_BYTES = 1024 * 1024;
/** Files up to this size are stored with synchronous calls (storeSmall): a few milliseconds at most. */
const SYNC_STORE_BYTES = 1024 * 1024;
/** A blob's mtime (its recency after a restart) is refreshed at most this often: a use costs no syscall. */
const TOUCH_INTERVAL_MS = 60_000;
/** Scopes missing blobs a pin() message names. */
const NAMED_MISSING = 10;

const TMP_DIR = "tmp";
const readAsync = promisify(read);
const SCOPE_NAME = /^[0-9a-f]{32}$/;
const FAN_NAME = /^[0-9a-f]{2}$/;
const BLOB_NAME = /^[0-9a-f]{64}$/;

interface Entry {
  readonly key: string;
  readonly scope: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** pin() holders and reads in progress: an entry with pins is never evicted. */
  pins: number;
  /** The mtime last written to the file (ms). */
  touchedMs: number;
}

export interface BlobStoreOptions {
  /** blobs.max_bytes: all blobs of all scopes, uploads in progress included. */
  maxBytes: number;
  /** workspace.max_bytes: the largest single blob, refused at its first chunk. @default maxBytes */
  maxBlobBytes?: number;
}

/**
 * The worker's content-addressed blob store: file contents named by sha256, on disk under
 * `<dir>/<scope>/<sha256[0:2]>/<sha256>` (read-only files in a 0700 dir no job uid can enter), one
 * scope per caller so no caller can probe another's blobs. Bounded by bytes: making room evicts the
 * least recently used blobs nobody pins. New content is written into `<dir>/tmp/`, hashed while it is
 * written, and renamed into place once verified, so a blob in the index is always whole and right.
 * The index lives in memory (a Map in recency order) and is rebuilt from the files at open().
 */
export class BlobStore {
  /** Every blob of every scope by `<scope>/<sha256>`, least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Room held by uploads and storeFile calls in progress. */
  private reserved = 0;
  private uploadedBlobs = 0;
  private uploadedBytes = 0;
  private readonly fanDirs = new Set<string>();
  /** Serializes what renames into and unlinks from the store, so an eviction and a commit of one blob never interleave. */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly tmpDir: string;
  private readonly maxBytes: number;
  private readonly maxBlobBytes: number;

  private constructor(
    private readonly dir: string,
    options: BlobStoreOptions,
  ) {
    this.tmpDir = join(dir, TMP_DIR);
    this.maxBytes = options.maxBytes;
    this.maxBlobBytes = options.maxBlobBytes ?? options.maxBytes;
  }

  /** Opens (creating) the store at dir; indexes what a previous run left (survives restart), removes stale temp files. */
  static async open(dir: string, options: BlobStoreOptions): Promise<BlobStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // One left by an older worker or by hand may be wider: job uids must not list or read it.
    await chmod(dir, 0o700);
    const store = new BlobStore(dir, options);
    await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { mode: 0o700 });
    const found = await scanBlobs(dir);
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const blob of found) store.add(blob.scope, { sha256: blob.sha256, sizeBytes: blob.sizeBytes }, blob.mtimeMs);
    // blobs.max_bytes may have been lowered since.
    await store.exclusive(() => store.evictFor(0));
    return store;
  }

  /** The store's name for a caller: callers never see each other's blobs. Anonymous callers share one scope. */
  static scopeOf(caller: Caller): string {
    return createHash("sha256").update(caller.identity).digest("hex").slice(0, 32);
  }

  /** Those of `digests` the scope lacks, in order, without duplicates. */
  missing(scope: string, digests: readonly Digest[]): Digest[] {
    const seen = new Set<string>();
    const missing: Digest[] = [];
    for (const digest of digests) {
      const name = digestName(digest);
      if (seen.has(name)) continue;
      seen.add(name);
      if (!this.find(scope, digest)) missing.push(digest);
    }
    return missing;
  }

  /**
   * Keeps these blobs from eviction until the returned release() is called (once is enough; more are
   * harmless). Thrown: FAILED_PRECONDITION naming (up to 10 of) the digests the scope lacks.
   */
  pin(scope: string, digests: readonly Digest[]): () => void {
    const entries: Entry[] = [];
    for (const digest of digests) {
      const entry = this.find(scope, digest);
      if (!entry) throw missingBlobs(this.missing(scope, digests));
      entries.push(entry);
    }
    for (const entry of entries) {
      entry.pins += 1;
      this.touch(entry);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const entry of entries) entry.pins -= 1;
    };
  }

  /** Path of a stored blob's file; callers only read it (copy it), never write or link it. Marks it recently used. */
  pathOf(scope: string, digest: Digest): string {
    const entry = this.get(scope, digest);
    this.touch(entry);
    return this.pathFor(entry);
  }

  /**
   * Stores the content of a file (opened with O_NOFOLLOW, read once, hashed while copied); returns its
   * digest. Counts against maxBytes like an upload. Thrown: FAILED_PRECONDITION (reason
   * NOT_A_REGULAR_FILE) for a link or special file, RESOURCE_EXHAUSTED when it does not fit.
   */
  async storeFile(scope: string, path: string): Promise<Digest> {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      throw (error as NodeJS.ErrnoException).code === "ELOOP" ? notRegularFile(path) : error;
    }
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw notRegularFile(path);
      // The size it has now; a file that grows meanwhile is stored as far as this.
      return info.size <= SYNC_STORE_BYTES
        ? await this.storeSmall(scope, fd, info.size, path)
        : await this.storeLarge(scope, fd, info.size, path);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A small file (COLLECT stores hundreds of them in a row) with synchronous calls: each costs
   * microseconds on the store's own disk, where a promise call costs a thread-pool round trip; the
   * caller paces them. A content the scope holds already is not written again.
   */
  private async storeSmall(scope: string, fd: number, size: number, path: string): Promise<Digest> {
    const content = Buffer.allocUnsafe(size);
    let length = 0;
    while (length < size) {
      const bytesRead = readSync(fd, content, length, size - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const data = content.subarray(0, length);
    const digest = { sha256: createHash("sha256").update(data).digest("hex"), sizeBytes: length };
    const present = this.find(scope, digest);
    if (present) {
      this.touch(present);
      return digest;
    }
    await this.reserve(length, path);
    let tmpPath: string;
    try {
      tmpPath = writeTempBlobSync(this.tmpDir, data);
    } catch (error) {
      this.release(length);
      throw error;
    }
    await this.adopt(scope, [{ digest, tmpPath }], false);
    return digest;
  }

  private async storeLarge(scope: string, fd: number, size: number, path: string): Promise<Digest> {
    await this.reserve(size, path);
    let temp: TempBlob | undefined;
    let digest: Digest;
    try {
      temp = await TempBlob.create(this.tmpDir);
      while (temp.written < size) {
        // A fresh buffer each time: the temp blob keeps it until it is written.
        const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, size - temp.written));
        const { bytesRead } = await readAsync(fd, buffer, 0, buffer.length, temp.written);
        if (bytesRead === 0) break;
        await temp.write(buffer.subarray(0, bytesRead));
      }
      digest = { sha256: await temp.close(), sizeBytes: temp.written };
    } catch (error) {
      this.release(size);
      await temp?.discard();
      throw error;
    }
    // A file that shrank holds less than was reserved for it.
    this.release(size - digest.sizeBytes);
    await this.adopt(scope, [{ digest, tmpPath: temp.path }], false);
    return digest;
  }

  /** Starts one UploadBlobs call: chunks are verified as they arrive; nothing is visible until commit(). */
  beginUpload(scope: string): BlobUpload {
    return new ChunkedUpload(
      {
        tmpDir: this.tmpDir,
        reserve: (digest) => this.reserve(digest.sizeBytes, digestName(digest)),
        release: (bytes) => this.release(bytes),
        adopt: (target, blobs) => this.adopt(target, blobs, true),
      },
      scope,
    );
  }

  /**
   * A stored blob's bytes from offset, in chunks of at most 64 KiB. Thrown while iterating: NOT_FOUND
   * when the scope lacks it, INVALID_ARGUMENT (field "offset") for an offset past its size. The blob
   * is pinned until its file is open, so an eviction meanwhile cannot take it.
   */
  async *read(scope: string, digest: Digest, offset: number): AsyncGenerator<Buffer, void, undefined> {
    const entry = this.get(scope, digest);
    if (offset > entry.sizeBytes) throw invalidArgument("offset", `${offset} is past the end of ${digestName(digest)}`);
    this.touch(entry);
    entry.pins += 1;
    const handle = await open(this.pathFor(entry), constants.O_RDONLY | constants.O_NOFOLLOW).finally(() => {
      entry.pins -= 1;
    });
    try {
      for (let position = offset; position < entry.sizeBytes;) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, entry.sizeBytes - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) throw new Error(`blob file ${this.pathFor(entry)} is shorter than ${entry.sizeBytes} bytes`);
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  stats(): { blobs: number; bytes: number; uploadedBlobs: number; uploadedBytes: number } {
    return { blobs: this.entries.size, bytes: this.bytes, uploadedBlobs: this.uploadedBlobs, uploadedBytes: this.uploadedBytes };
  }

  private find(scope: string, digest: Digest): Entry | undefined {
    const entry = this.entries.get(`${scope}/${digest.sha256}`);
    return entry?.sizeBytes === digest.sizeBytes ? entry : undefined;
  }

  private get(scope: string, digest: Digest): Entry {
    const entry = this.find(scope, digest);
    if (entry) return entry;
    throw new WorkerError(
      "NOT_FOUND",
      `blob ${digestName(digest)} is not in the caller's store (never uploaded or produced by this caller, or evicted)`,
      { field: "digest" },
    );
  }

  private pathFor(entry: Entry): string {
    return join(this.dir, entry.scope, entry.sha256.slice(0, 2), entry.sha256);
  }

  private add(scope: string, digest: Digest, mtimeMs: number): void {
    const key = `${scope}/${digest.sha256}`;
    this.entries.set(key, { key, scope, sha256: digest.sha256, sizeBytes: digest.sizeBytes, pins: 0, touchedMs: mtimeMs });
    this.bytes += digest.sizeBytes;
  }

  /** Most recently used now; the file's mtime follows lazily, for the order after a restart. */
  private touch(entry: Entry): void {
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    const now = Date.now();
    if (now - entry.touchedMs < TOUCH_INTERVAL_MS) return;
    entry.touchedMs = now;
    // Best effort: an eviction may have removed it meanwhile.
    void utimes(this.pathFor(entry), now / 1000, now / 1000).catch(() => undefined);
  }

  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.lock.then(run);
    this.lock = result.catch(() => undefined);
    return result;
  }

  /** Holds room for a blob (`what` names it in a refusal), evicting what it must; RESOURCE_EXHAUSTED when it cannot fit. */
  private reserve(sizeBytes: number, what: string): Promise<void> {
    if (sizeBytes > this.maxBlobBytes) {
      throw new WorkerError(
        "RESOURCE_EXHAUSTED",
        `${what} is larger than the largest blob the worker stores (workspace.max_bytes, ${formatBytes(this.maxBlobBytes)})`,
        { field: "digest" },
      );
    }
    return this.exclusive(async () => {
      if (!(await this.evictFor(sizeBytes))) {
        let held = this.reserved;
        for (const entry of this.entries.values()) if (entry.pins > 0) held += entry.sizeBytes;
        throw new WorkerError(
          "RESOURCE_EXHAUSTED",
          `no room for ${what} (${formatBytes(sizeBytes)}) in the blob store: blobs in use and uploads in progress hold ` +
            `${formatBytes(held)} of blobs.max_bytes (${formatBytes(this.maxBytes)}); retry later, or raise blobs.max_bytes`,
          { field: "digest" },
        );
      }
      this.reserved += sizeBytes;
    });
  }

  private release(bytes: number): void {
    this.reserved -= bytes;
  }

  /**
   * Evicts the least recently used unpinned blobs until `needed` more bytes fit; false, evicting
   * nothing, when even all of them would not make room. Runs under the lock.
   */
  private async evictFor(needed: number): Promise<boolean> {
    let excess = this.bytes + this.reserved + needed - this.maxBytes;
    if (excess <= 0) return true;
    const victims: Entry[] = [];
    for (const entry of this.entries.values()) {
      if (excess <= 0) break;
      if (entry.pins > 0) continue;
      victims.push(entry);
      excess -= entry.sizeBytes;
    }
    if (excess > 0 && needed > 0) return false;
    for (const entry of victims) {
      this.entries.delete(entry.key);
      this.bytes -= entry.sizeBytes;
    }
    await Promise.all(victims.map((entry) => rm(this.pathFor(entry), { force: true })));
    return true;
  }

  /**
   * Moves verified blobs into place under the lock; their reservations become stored bytes or are
   * released. Synchronous renames (a promise call each costs a thread-pool round trip), paced.
   */
  private adopt(scope: string, blobs: readonly VerifiedBlob[], upload: boolean): Promise<{ stored: number; alreadyPresent: number }> {
    return this.exclusive(async () => {
      let stored = 0;
      let alreadyPresent = 0;
      const pacer = new EventLoopPacer();
      for (const [index, { digest, tmpPath }] of blobs.entries()) {
        await pacer.pace();
        this.reserved -= digest.sizeBytes;
        const present = this.find(scope, digest);
        try {
          if (present) {
            alreadyPresent += 1;
            this.touch(present);
            unlinkSync(tmpPath);
            continue;
          }
          const fanDir = join(this.dir, scope, digest.sha256.slice(0, 2));
          if (!this.fanDirs.has(fanDir)) {
            mkdirSync(fanDir, { recursive: true, mode: 0o700 });
            this.fanDirs.add(fanDir);
          }
          renameSync(tmpPath, join(fanDir, digest.sha256));
        } catch (error) {
          // The rest will not be stored: their room goes back and their files away.
          const rest = blobs.slice(index + 1);
          for (const blob of rest) this.reserved -= blob.digest.sizeBytes;
          await Promise.all([tmpPath, ...rest.map((blob) => blob.tmpPath)].map((path) => rm(path, { force: true })));
          throw error;
        }
        this.add(scope, digest, Date.now());
        stored += 1;
        if (upload) {
          this.uploadedBlobs += 1;
          this.uploadedBytes += digest.sizeBytes;
        }
      }
      return { stored, alreadyPresent };
    });
  }
}

/** Thrown by pin() when the scope lacks some of a workspace's blobs. */
function missingBlobs(missing: readonly Digest[]): WorkerError {
  const named = missing.slice(0, NAMED_MISSING).map(digestName).join(", ");
  const count = missing.length === 1 ? "1 blob is" : `${missing.length} blobs are`;
  return new WorkerError(
    "FAILED_PRECONDITION",
    `workspace: ${count} not in the worker's store (e.g. ${named}): upload them (FindMissingBlobs, UploadBlobs) and dispatch again`,
    { field: "workspace", reason: "BLOBS_MISSING" },
  );
}

function notRegularFile(path: string): WorkerError {
  return new WorkerError("FAILED_PRECONDITION", `${path} is not a regular file: a link or special file is never read`, {
    reason: "NOT_A_REGULAR_FILE",
  });
}

/** The blobs a previous run left: `<scope>/<fan>/<sha256>` files, with their size and mtime. */
async function scanBlobs(dir: string): Promise<Array<{ scope: string; sha256: string; sizeBytes: number; mtimeMs: number }>> {
  const found: Array<{ scope: string; sha256: string; sizeBytes: number; mtimeMs: number }> = [];
  const scopes = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory() && SCOPE_NAME.test(entry.name));
  for (const { name: scope } of scopes) {
    const fans = (await readdir(join(dir, scope), { withFileTypes: true })).filter(
      (entry) => entry.isDirectory() && FAN_NAME.test(entry.name),
    );
    for (const { name: fan } of fans) {
      const names = (await readdir(join(dir, scope, fan))).filter((name) => BLOB_NAME.test(name) && name.startsWith(fan));
      const infos = await Promise.all(names.map((name) => lstat(join(dir, scope, fan, name))));
      names.forEach((sha256, index) => {
        const info = infos[index];
        if (info?.isFile()) found.push({ scope, sha256, sizeBytes: info.size, mtimeMs: info.mtimeMs });
      });
    }
  }
  return found;
}
